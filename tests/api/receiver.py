"""A real local HTTP receiver for webhooks (stdlib ThreadingHTTPServer on 127.0.0.1)."""

import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict
    body: bytes
    answered: int  # the status the receiver answered with

    @property
    def event(self) -> dict:
        return json.loads(self.body)


def verify_signature(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """The receiver's recipe from docs/api.md, written independently of the sender's code."""
    items = [item.split("=", 1) for item in header.split(",")]
    timestamps = [value for key, value in items if key == "t"]
    signatures = [value for key, value in items if key == "v1"]
    if len(timestamps) != 1 or abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


class Receiver:
    """Records every request; answers ``status`` (a test can change it). ``stop()`` closes the
    port (connection refused, as a receiver that is down); ``start()`` opens the same port.
    With ``tls`` (a server SSLContext) it answers HTTPS at https://localhost:<port>/hooks and
    keeps the names the clients asked for in their TLS hello (``server_names``)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.received: list[Received] = []
        self.server_names: list[str | None] = []
        self.status = 200
        self.port = 0
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._tls is not None:
            return f"https://localhost:{self.port}/hooks"
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.status
                with receiver._lock:
                    receiver.received.append(Received(dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        if self._tls is not None:
            self._tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, type_: str | None = None) -> list[dict]:
        with self._lock:
            events = [item.event for item in self.received]
        return [event for event in events if type_ is None or event["type"] == type_]

    def unique_event_ids(self) -> set[str]:
        """What a receiver that deduplicates on the event id has processed."""
        return {event["id"] for event in self.events()}
