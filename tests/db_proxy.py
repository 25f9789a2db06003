"""A TCP door to the test PostgreSQL that a test can shut: the database going away, for real.

The application under test (a real server process) connects through it. The test can shut it
(new connections are dropped and live ones cut: PostgreSQL unreachable), make it answer as a
server in recovery does (SQLSTATE 57P03, the real protocol message), or have it cut every
connection the moment the application sends given bytes (a query, COMMIT) — mid-request —
either before those bytes reach PostgreSQL or just after.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from pathlib import Path

OPEN, DOWN, RECOVERING = "open", "down", "recovering"


def recovery_error() -> bytes:
    """PostgreSQL's ErrorResponse to a connection while it starts up or recovers."""
    fields = b"".join(
        kind + text + b"\0"
        for kind, text in (
            (b"S", b"FATAL"),
            (b"V", b"FATAL"),
            (b"C", b"57P03"),
            (b"M", b"the database system is in recovery mode"),
        )
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class DatabaseProxy:
    def __init__(self, *, socket_path: Path | None = None, address: tuple[str, int] | None = None):
        self._target = socket_path or address
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._state = OPEN
        self._cut_marker: bytes | None = None
        self._deliver_marker = False
        self._lock = threading.Lock()
        self._links: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @classmethod
    def for_django(cls, settings_dict: dict) -> DatabaseProxy:
        host = settings_dict["OPTIONS"].get("host") or settings_dict["HOST"] or "/tmp"
        port = int(settings_dict["PORT"] or 5432)
        if host.startswith("/"):
            return cls(socket_path=Path(host) / f".s.PGSQL.{port}")
        return cls(address=(host, port))

    # --- what the test does ---------------------------------------------------------------

    def shut(self, state: str = DOWN) -> None:
        """PostgreSQL goes away (DOWN) or answers as in recovery (RECOVERING): every live
        connection is cut at once."""
        with self._lock:
            self._state = state
            links, self._links = self._links, set()
        for sock in links:
            _close(sock)

    def reopen(self) -> None:
        self._state = OPEN

    def cut_when_sent(self, marker: bytes, *, deliver: bool) -> None:
        """The next time the application sends ``marker``, shut down: with ``deliver``, after
        PostgreSQL received those bytes (it acts on them; the answer is lost), else before."""
        self._cut_marker, self._deliver_marker = marker, deliver

    @property
    def state(self) -> str:
        return self._state

    def close(self) -> None:
        self._closed = True
        self.shut()
        _close(self._listener)

    # --- plumbing -------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self._state == DOWN:
            _close(client)
            return
        if self._state == RECOVERING:
            with contextlib.suppress(OSError):
                client.recv(65536)  # the startup message
                client.sendall(recovery_error())
            _close(client)
            return
        family = socket.AF_UNIX if isinstance(self._target, Path) else socket.AF_INET
        server = socket.socket(family, socket.SOCK_STREAM)
        server.connect(str(self._target) if family == socket.AF_UNIX else self._target)
        with self._lock:
            self._links |= {client, server}
        threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()
        self._pump(client, server, True)

    def _pump(self, source: socket.socket, sink: socket.socket, watch: bool) -> None:
        try:
            while data := source.recv(65536):
                marker = self._cut_marker if watch else None
                if marker is not None and marker in data:
                    self._cut_marker = None
                    if self._deliver_marker:
                        sink.sendall(data)
                    self.shut()
                    return
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
