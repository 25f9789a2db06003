"""HTTP plumbing on ``http.server``: requests in, responses out, and nothing ever a bare 500."""

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import ApiError, invalid

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The parsed body; an empty body counts as ``{}``."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise invalid("the body is not valid JSON") from None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


def error_response(error: ApiError) -> Response:
    return json_response({"error": {"code": error.code, "message": error.message}}, error.status)


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode(), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(303, b"", "text/plain", {"Location": location})


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True  # a request hanging on a timeout fault must not block shutdown

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, _Handler)
        self.app: Callable[[Request], Response] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    server_version = "SandboxChannel/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        try:
            response = self._handle()
        except Exception:
            log.exception("unhandled error on %s %s", self.command, self.path)
            response = error_response(ApiError(500, "INTERNAL_ERROR", "internal error"))
        # The caller may have given up already (e.g. its timeout ran out during a hang fault).
        with contextlib.suppress(ConnectionError):
            self._write(response)

    def _handle(self) -> Response:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return error_response(invalid("bad Content-Length"))
        if not 0 <= length <= MAX_BODY:
            return error_response(ApiError(413, "BODY_TOO_LARGE", f"at most {MAX_BODY} bytes"))
        body = self.rfile.read(length)
        url = urlsplit(self.path)
        request = Request(self.command, url.path, dict(parse_qsl(url.query)), body)
        return self.server.app(request)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)
