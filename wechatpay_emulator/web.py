"""HTTP plumbing on ``http.server``: the raw request target and headers in, never a bare 500.

The request target is kept exactly as sent because WeChat's signature covers it (path and query).
"""

import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox_channel.web import Response

from .errors import WechatError, param_error, system_error

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query exactly as sent: what the signature covers
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: bytes

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


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True  # a request hanging on a timeout fault must not block shutdown

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, _Handler)
        self.app: Callable[[Request], Response] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    server_version = "WechatPayEmulator/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        try:
            response = self._handle()
        except Exception:
            log.exception("unhandled error on %s %s", self.command, self.path)
            response = error_response(system_error("internal error"))
        # The caller may have given up already (e.g. its timeout ran out during a hang fault).
        with contextlib.suppress(ConnectionError):
            self._write(response)

    def _handle(self) -> Response:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return error_response(param_error("bad Content-Length"))
        if not 0 <= length <= MAX_BODY:
            return error_response(WechatError(413, "PARAM_ERROR", f"at most {MAX_BODY} bytes"))
        body = self.rfile.read(length)
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(
            self.command, self.path, url.path, dict(parse_qsl(url.query)), headers, body
        )
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
