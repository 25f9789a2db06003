"""HTTP plumbing on ``http.server``: the raw request in, a response out, and never a bare 500.

A channel names its own server (``server_version``) and its own error answers, which are its wire
format; the reading, dispatching and writing are the same for every simulated channel.
"""

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query exactly as sent: what a signature may cover
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable[..., Response]


AnyRoute = TypeVar("AnyRoute", bound=Route)


def find_route(
    routes: Iterable[AnyRoute], request: Request
) -> tuple[AnyRoute | None, dict[str, str], bool]:
    """The route for the request's method and path, with its path arguments unquoted; else None,
    and whether another method has the path (405 rather than 404)."""
    path_known = False
    for route in routes:
        match = route.pattern.fullmatch(request.path)
        if match is None:
            continue
        path_known = True
        if route.method == request.method:
            return route, {name: unquote(value) for name, value in match.groupdict().items()}, True
    return None, {}, path_known


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode(), "text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(303, b"", "text/plain", {"Location": location})


class ChannelHandler(BaseHTTPRequestHandler):
    server: "ChannelServer"
    log: ClassVar[logging.Logger]
    request_class: ClassVar[type[Request]] = Request

    # -- the channel's answers to what never reaches its routes ----------------------------

    def internal_error(self) -> Response:
        raise NotImplementedError

    def bad_content_length(self) -> Response:
        raise NotImplementedError

    def body_too_large(self) -> Response:
        raise NotImplementedError

    # -- the plumbing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        try:
            response = self._handle()
        except Exception:
            self.log.exception("unhandled error on %s %s", self.command, self.path)
            response = self.internal_error()
        # The caller may have given up already (e.g. its timeout ran out during a hang fault).
        with contextlib.suppress(ConnectionError):
            self._write(response)

    def _handle(self) -> Response:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self.bad_content_length()
        if not 0 <= length <= MAX_BODY:
            return self.body_too_large()
        body = self.rfile.read(length)
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = self.request_class(
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
        self.log.info("%s %s", self.address_string(), format % args)


class ChannelServer(ThreadingHTTPServer):
    daemon_threads = True  # a request hanging on a timeout fault must not block shutdown
    handler_class: ClassVar[type[ChannelHandler]]

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, self.handler_class)
        self.app: Callable[[Request], Response] | None = None
