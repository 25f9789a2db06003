"""The sandbox's HTTP answers on every simulated channel's plumbing (``channel_sim.web``)."""

import json
import logging
from typing import Any

from channel_sim import web
from channel_sim.web import MAX_BODY, ChannelHandler, ChannelServer, Response, json_response

from .errors import ApiError, invalid


class Request(web.Request):
    def json(self) -> Any:
        """The parsed body; an empty body counts as ``{}``."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise invalid("the body is not valid JSON") from None


def error_response(error: ApiError) -> Response:
    return json_response({"error": {"code": error.code, "message": error.message}}, error.status)


class _Handler(ChannelHandler):
    server_version = "SandboxChannel/1.0"
    log = logging.getLogger(__name__)
    request_class = Request

    def internal_error(self) -> Response:
        return error_response(ApiError(500, "INTERNAL_ERROR", "internal error"))

    def bad_content_length(self) -> Response:
        return error_response(invalid("bad Content-Length"))

    def body_too_large(self) -> Response:
        return error_response(ApiError(413, "BODY_TOO_LARGE", f"at most {MAX_BODY} bytes"))


class SandboxServer(ChannelServer):
    handler_class = _Handler
