"""WeChat's HTTP answers on every simulated channel's plumbing (``channel_sim.web``).

The request target is kept exactly as sent because WeChat's signature covers it (path and query).
"""

import json
import logging
from typing import Any

from channel_sim import web
from channel_sim.web import MAX_BODY, ChannelHandler, ChannelServer, Response

from .errors import WechatError, param_error, system_error


class Request(web.Request):
    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a 400 PARAM_ERROR."""
        try:
            value = json.loads(self.body) if self.body.strip() else None
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise param_error("the body must be a JSON object")
        return value


def json_response(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, "application/json; charset=utf-8")


def error_response(error: WechatError) -> Response:
    return json_response({"code": error.code, "message": error.message}, error.status)


class _Handler(ChannelHandler):
    server_version = "WechatPayEmulator/1.0"
    log = logging.getLogger(__name__)
    request_class = Request

    def internal_error(self) -> Response:
        return error_response(system_error("internal error"))

    def bad_content_length(self) -> Response:
        return error_response(param_error("bad Content-Length"))

    def body_too_large(self) -> Response:
        return error_response(WechatError(413, "PARAM_ERROR", f"at most {MAX_BODY} bytes"))


class EmulatorServer(ChannelServer):
    handler_class = _Handler
