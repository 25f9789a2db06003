"""Fixtures: the sandbox channel as a real process, and a merchant endpoint it calls back."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox_channel.runner import SandboxProcess

SECRET = "test-secret"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A merchant's callback endpoint: records every notification, answers as scripted.

    The signature is checked here with hmac directly, independently of sandbox_channel.signing.
    """

    def __init__(self, secret: str = SECRET):
        self.secret = secret.encode()
        self.received: list[Received] = []
        self._answers: list[tuple[int, str]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, text = receiver._record(dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/callbacks/sandbox/"
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    def answer_with(self, *answers: tuple[int, str]) -> None:
        """Answer the next notifications with these (status, body); then with (200, "success")."""
        self._answers.extend(answers)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        message = f"{headers.get('X-Sandbox-Timestamp')}\n{headers.get('X-Sandbox-Nonce')}\n"
        expected = hmac.new(self.secret, message.encode() + body, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(expected, headers.get("X-Sandbox-Signature", ""))
        with self._changed:
            self.received.append(Received(headers, body, signature_ok))
            self._changed.notify_all()
            return self._answers.pop(0) if self._answers else (200, "success")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def start_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    """Start a sandbox with non-default options; every one started is stopped at teardown."""
    started: list[SandboxProcess] = []

    def start(**options: Any) -> SandboxProcess:
        process = SandboxProcess(tmp_path / f"sandbox{len(started)}", **options)
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxProcess]) -> SandboxProcess:
    return start_sandbox()


@pytest.fixture
def create_trade(receiver: Receiver) -> Callable[..., requests.Response]:
    """POST /v1/trades with sensible fields; any field can be overridden (None drops it)."""

    def create(
        sandbox: SandboxProcess,
        out_trade_no: str,
        /,
        expire_in: float = 600,
        timeout: float = 30,
        **overrides: Any,
    ) -> requests.Response:
        body = {
            "channel": "sandbox",
            "out_trade_no": out_trade_no,
            "amount": 1000,
            "currency": "CNY",
            "subject": "Green tea",
            "notify_url": receiver.url,
            "time_expire": (datetime.now(UTC) + timedelta(seconds=expire_in)).isoformat(),
        }
        body.update(overrides)
        body = {key: value for key, value in body.items() if value is not None}
        return sandbox.request("POST", "/v1/trades", json=body, timeout=timeout)

    return create


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """Poll ``check`` until it returns something truthy (returned) or the timeout runs out."""

    def wait(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result or time.monotonic() > deadline:
                return result
            time.sleep(interval)

    return wait
