"""Fixtures: the Alipay emulator as a real process, `python-alipay-sdk` pointed at it, and a
merchant notify endpoint.

The SDK picks its gateway in ``BaseAliPay.__init__`` (``debug=True`` is Alipay's sandbox, else
production; no URL parameter); the ``_gateway`` instance attribute is replaced after
construction, which is the only way it offers. Every request and answer still goes through its
own signing and verification.
"""

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from alipay import AliPay
from alipay.utils import AliPayConfig
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from alipay_emulator.runner import EmulatorProcess

CHINA = timezone(timedelta(hours=8))
SCHEDULE = (0, 0.2, 0.4, 0.6)
_numbers = itertools.count()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class Receiver:
    """A merchant's notify endpoint: records every notify, answers as scripted (else success)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: list[str] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                text = receiver._record(dict(self.headers), body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/notify/alipay/"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def answer_with(self, *bodies: str) -> None:
        """Answer the next notifies with these bodies; then with ``success``."""
        self._answers.extend(bodies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, headers: dict[str, str], body: bytes) -> str:
        with self._changed:
            self.received.append(Received(headers, body))
            self._changed.notify_all()
            return self._answers.pop(0) if self._answers else "success"


class Merchant:
    """Signs gateway requests by hand, independently of the SDK and of the emulator's own code."""

    def __init__(self, emulator: EmulatorProcess, private_key=None, app_id: str | None = None):
        manifest = emulator.manifest
        self.emulator = emulator
        self.app_id = app_id or manifest["app_id"]
        self.key = private_key or serialization.load_pem_private_key(
            Path(manifest["app_private_key_file"]).read_bytes(), password=None
        )

    def params(self, method: str, biz: Any, **extra: str) -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": biz if isinstance(biz, str) else json.dumps(biz),
            **extra,
        }
        return self.signed(params)

    def signed(self, params: dict[str, str]) -> dict[str, str]:
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)
        signature = self.key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {**params, "sign": base64.b64encode(signature).decode()}

    def post(self, params: dict[str, str] | bytes) -> requests.Response:
        return requests.post(
            self.emulator.gateway_url,
            data=params,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            timeout=10,
        )


def sdk_client(
    emulator: EmulatorProcess,
    notify_url: str | None = None,
    *,
    private_key: str | None = None,
    alipay_public_key: str | None = None,
    app_id: str | None = None,
    timeout: float = 15,
) -> AliPay:
    """python-alipay-sdk in RSA2 mode with the emulator's identities (or the given ones)."""
    manifest = emulator.manifest
    client = AliPay(
        appid=app_id or manifest["app_id"],
        app_notify_url=notify_url,
        app_private_key_string=private_key or Path(manifest["app_private_key_file"]).read_text(),
        alipay_public_key_string=alipay_public_key
        or Path(manifest["alipay_public_key_file"]).read_text(),
        sign_type="RSA2",
        config=AliPayConfig(timeout=timeout),
    )
    client._gateway = emulator.gateway_url
    return client


def new_out_trade_no(prefix: str = "ali") -> str:
    return f"{prefix}{int(time.time() * 1000)}{next(_numbers):04d}"


def china_time_in(seconds: float) -> str:
    return (datetime.now(CHINA) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def answer_object(raw: str, response_key: str) -> tuple[str, str]:
    """The exact text of ``<response_key>`` and the ``sign`` of a gateway answer."""
    start = raw.index("{", raw.index(f'"{response_key}"'))
    end = raw.rindex(',"sign":')
    return raw[start:end], json.loads(raw)["sign"]


def verify_with(public_key_pem: bytes, message: str, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_key_pem)
    try:
        key.verify(
            base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(
        tmp_path_factory.mktemp("alipay"), notify_schedule=SCHEDULE, min_expire_seconds=1
    ) as process:
        yield process


@pytest.fixture(autouse=True)
def _well_behaved(request) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset_faults()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def alipay(emulator, receiver) -> AliPay:
    return sdk_client(emulator, receiver.url)


@pytest.fixture
def precreate(alipay) -> Callable[..., tuple[str, dict]]:
    """Pre-create a QR trade through the SDK: (out_trade_no, answer)."""

    def create(total_amount: str = "1.00", expire_seconds: float | None = 600, **overrides: Any):
        out_trade_no = overrides.pop("out_trade_no", None) or new_out_trade_no()
        if expire_seconds is not None:
            overrides.setdefault("time_expire", china_time_in(expire_seconds))
        answer = alipay.api_alipay_trade_precreate(
            subject=overrides.pop("subject", "Green tea"),
            out_trade_no=out_trade_no,
            total_amount=total_amount,
            **overrides,
        )
        return out_trade_no, answer

    return create


@pytest.fixture
def paid(precreate, emulator) -> Callable[..., str]:
    """A pre-created trade the buyer has paid: its out_trade_no."""

    def make(total_amount: str = "1.00") -> str:
        out_trade_no, answer = precreate(total_amount=total_amount)
        assert answer["code"] == "10000"
        assert emulator.pay(out_trade_no).status_code == 200
        return out_trade_no

    return make


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """Poll ``check`` until it returns something truthy (returned) or the timeout runs out."""

    def wait(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result or time.monotonic() > deadline:
                return result
            time.sleep(interval)

    return wait
