"""Fixtures: the sandbox channel as a real process, and a merchant endpoint it calls back."""

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox_channel.runner import SandboxProcess
from tests import channel_servers

SECRET = "test-secret"


@dataclass(frozen=True)
class Received(channel_servers.Received):
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver(channel_servers.CallbackReceiver):
    """A merchant's callback endpoint: answers (status, body) as scripted, else (200, "success").

    The signature is checked here with hmac directly, independently of sandbox_channel.signing.
    """

    path = "/callbacks/sandbox/"
    default_answer = (200, "success")
    wait_timeout = 5.0

    def __init__(self, secret: str = SECRET):
        self.secret = secret.encode()
        super().__init__()

    def _received(self, headers: dict[str, str], body: bytes) -> Received:
        message = f"{headers.get('X-Sandbox-Timestamp')}\n{headers.get('X-Sandbox-Nonce')}\n"
        expected = hmac.new(self.secret, message.encode() + body, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(expected, headers.get("X-Sandbox-Signature", ""))
        return Received(headers, body, signature_ok)

    def _reply(self, answer: tuple[int, str]) -> tuple[int, bytes]:
        status, text = answer
        return status, text.encode()


receiver = channel_servers.receiver_fixture(Receiver)


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
    return channel_servers.poller(default_timeout=5.0)
