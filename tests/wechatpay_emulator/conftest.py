"""Fixtures: the WeChat Pay emulator as a real process, the `wechatpayv3` SDK pointed at it, and
a merchant callback endpoint.

The SDK hard-codes its gateway (``Core._gate_way = 'https://api.mch.weixin.qq.com'``, set in
``Core.__init__``, no parameter); the instance attribute is replaced after construction, which is
the only way it offers. Every request and answer still goes through its own signing and checks.
"""

import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from wechatpayv3 import WeChatPay, WeChatPayType

from wechatpay_emulator.runner import EmulatorProcess

BEIJING = timezone(timedelta(hours=8))
SCHEDULE = (0, 0.2, 0.4, 0.6)
_numbers = itertools.count()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A merchant's callback endpoint: records every callback, answers as scripted (else 204)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._record(dict(self.headers), body)
                text = (
                    b"" if status == 204 else json.dumps({"code": "FAIL", "message": "x"}).encode()
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/callbacks/wechatpay/"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def answer_with(self, *statuses: int) -> None:
        """Answer the next callbacks with these statuses; then with 204."""
        self._answers.extend(statuses)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        with self._changed:
            self.received.append(Received(headers, body))
            self._changed.notify_all()
            return self._answers.pop(0) if self._answers else 204


class Merchant:
    """Signs requests by hand (independently of the SDK and of the emulator's own code)."""

    def __init__(self, emulator, private_key=None):
        self.emulator = emulator
        manifest = emulator.manifest
        self.mchid = manifest["mchid"]
        self.serial = manifest["merchant_certificate_serial"]
        self.key = private_key or serialization.load_pem_private_key(
            Path(manifest["merchant_private_key_file"]).read_bytes(), password=None
        )

    def authorization(self, method, target, body=b"", timestamp=None, nonce=None, **override):
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or uuid.uuid4().hex
        message = f"{method}\n{target}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        fields = {
            "mchid": self.mchid,
            "nonce_str": nonce,
            "signature": base64.b64encode(signature).decode(),
            "timestamp": timestamp,
            "serial_no": self.serial,
            **override,
        }
        return "WECHATPAY2-SHA256-RSA2048 " + ",".join(f'{k}="{v}"' for k, v in fields.items())

    def send(self, method, target, body=b"", authorization=None, sent_body=None, timeout=10):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers["Authorization"] = authorization or self.authorization(method, target, body)
        return requests.request(
            method,
            self.emulator.url + target,
            data=body if sent_body is None else sent_body,
            headers=headers,
            timeout=timeout,
        )


def sdk_client(
    emulator: EmulatorProcess,
    notify_url: str,
    *,
    wechatpay_type: WeChatPayType = WeChatPayType.NATIVE,
    private_key: str | None = None,
    public_key: str | None = None,
    apiv3_key: str | None = None,
) -> WeChatPay:
    """The SDK in platform-public-key mode with the emulator's identities (or the given ones)."""
    manifest = emulator.manifest
    client = WeChatPay(
        wechatpay_type=wechatpay_type,
        mchid=manifest["mchid"],
        private_key=private_key or Path(manifest["merchant_private_key_file"]).read_text(),
        cert_serial_no=manifest["merchant_certificate_serial"],
        appid=manifest["appid"],
        apiv3_key=apiv3_key or Path(manifest["apiv3_key_file"]).read_text().strip(),
        notify_url=notify_url,
        public_key=public_key or Path(manifest["platform_public_key_file"]).read_text(),
        public_key_id=manifest["platform_public_key_id"],
        timeout=(5, 20),
    )
    client._core._gate_way = emulator.url
    return client


def new_out_trade_no(prefix: str = "wx") -> str:
    return f"{prefix}{int(time.time() * 1000)}{next(_numbers):04d}"


def expire_in(seconds: float) -> str:
    return (datetime.now(BEIJING) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(
        tmp_path_factory.mktemp("wechatpay"), notify_schedule=SCHEDULE, min_expire_seconds=1
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
def wxpay(emulator, receiver) -> WeChatPay:
    return sdk_client(emulator, receiver.url)


@pytest.fixture
def native_order(wxpay) -> Callable[..., tuple[str, int, dict]]:
    """Create a Native order through the SDK: (out_trade_no, status, answer)."""

    def create(total: int = 100, expire_seconds: float = 600, **overrides: Any):
        out_trade_no = overrides.pop("out_trade_no", None) or new_out_trade_no()
        code, text = wxpay.pay(
            description=overrides.pop("description", "Green tea"),
            out_trade_no=out_trade_no,
            amount={"total": total, "currency": "CNY"},
            time_expire=expire_in(expire_seconds),
            **overrides,
        )
        return out_trade_no, code, json.loads(text) if text else {}

    return create


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
