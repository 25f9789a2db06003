"""Fixtures: the WeChat Pay emulator as a real process, the `wechatpayv3` SDK pointed at it, and
a merchant callback endpoint.

The SDK hard-codes its gateway (``Core._gate_way = 'https://api.mch.weixin.qq.com'``, set in
``Core.__init__``, no parameter); the instance attribute is replaced after construction, which is
the only way it offers. Every request and answer still goes through its own signing and checks.
"""

import base64
import itertools
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from wechatpayv3 import WeChatPay, WeChatPayType

from tests import channel_servers
from wechatpay_emulator.runner import EmulatorProcess

BEIJING = timezone(timedelta(hours=8))
SCHEDULE = (0, 0.2, 0.4, 0.6)
_numbers = itertools.count()


class Received(channel_servers.Received):
    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver(channel_servers.CallbackReceiver):
    """A merchant's callback endpoint: answers with the scripted statuses, else 204."""

    path = "/callbacks/wechatpay/"
    default_answer = 204
    received_class = Received

    def _reply(self, status: int) -> tuple[int, bytes]:
        failure = json.dumps({"code": "FAIL", "message": "x"}).encode()
        return status, b"" if status == 204 else failure


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


emulator = channel_servers.module_process_fixture(
    EmulatorProcess, "wechatpay", notify_schedule=SCHEDULE, min_expire_seconds=1
)
_well_behaved = channel_servers.well_behaved_fixture()
receiver = channel_servers.receiver_fixture(Receiver)


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
    return channel_servers.poller(default_timeout=10.0)
