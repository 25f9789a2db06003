"""A local HTTP proxy between an adapter and its server that can garble the server's answers:
the same malformed answers for every channel, whatever its server can be told to do."""

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "host"}
UPSTREAM_TIMEOUT = 30.0


def _html(body: bytes) -> bytes:
    return b"<html><body>502 Bad Gateway</body></html>"


def _truncated(body: bytes) -> bytes:
    return body[: len(body) // 2]


def _wrapped_in_an_array(body: bytes) -> bytes:
    return b"[" + body + b"]"


def _one_byte_flipped(body: bytes) -> bytes:
    """What a signature over the answer must catch (and a parser may not)."""
    if not body:
        return b"?"
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


GARBLINGS: dict[str, Callable[[bytes], bytes]] = {
    "html": _html,
    "truncated": _truncated,
    "array": _wrapped_in_an_array,
    "flipped": _one_byte_flipped,
}
SIGNED_ONLY = {"flipped"}  # may still parse: only a signature over the answer catches it


class GarblingProxy:
    """Speaks HTTP/1.1 with keep-alive, as the channels' real servers do, and counts the
    connections its clients open (``connections``)."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.garble: Callable[[bytes], bytes] | None = None  # None: answers pass unchanged
        self.connections = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with proxy._lock:
                    proxy.connections += 1
                    proxy._open.add(self.connection)

            def finish(self):
                with proxy._lock:
                    proxy._open.discard(self.connection)
                super().finish()

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in HOP_BY_HOP
                }
                answer = requests.request(
                    self.command,
                    proxy.upstream + self.path,
                    data=body,
                    headers=headers,
                    timeout=UPSTREAM_TIMEOUT,
                    allow_redirects=False,
                )
                content, status = answer.content, answer.status_code
                if proxy.garble is not None:
                    content = proxy.garble(content)
                    # a 204 carries no body for the client to read: garbled, it becomes a 200
                    status = 200 if status == 204 else status
                self.send_response(status)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP | {"content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "GarblingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        # A client's kept-alive connection must not outlive this proxy: a later proxy given the
        # same port would otherwise have its calls answered by this one.
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
