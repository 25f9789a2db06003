"""A small local HTTP server that keeps every callback a channel sends it, as it came."""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import wait_for


@dataclass(frozen=True)
class Callback:
    path: str
    headers: dict[str, str]
    body: bytes


class CallbackReceiver:
    """Answers every POST with the channel's own success dialect, so the channel stops
    retrying once it has been heard."""

    def __init__(self, acknowledgement: tuple[int, str, str]):
        self.callbacks: list[Callback] = []
        self._lock = threading.Lock()
        status, content_type, body = acknowledgement
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                callback = Callback(self.path, dict(self.headers.items()), self.rfile.read(length))
                with receiver._lock:
                    receiver.callbacks.append(callback)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass  # quiet: the test reads what it needs from self.callbacks

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "CallbackReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def first(self, path: str, timeout: float = 15) -> Callback:
        """The first callback sent to ``path``, waiting for it."""

        def found() -> Callback | None:
            with self._lock:
                return next((c for c in self.callbacks if c.path == path), None)

        return wait_for(found, timeout=timeout, what=f"a callback to {path}")
