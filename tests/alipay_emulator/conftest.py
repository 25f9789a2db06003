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
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
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
from tests import channel_servers

CHINA = timezone(timedelta(hours=8))
SCHEDULE = (0, 0.2, 0.4, 0.6)
_numbers = itertools.count()


class Received(channel_servers.Received):
    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class Receiver(channel_servers.CallbackReceiver):
    """A merchant's notify endpoint: answers 200 with the scripted bodies, else ``success``."""

    path = "/notify/alipay/"
    default_answer = "success"
    received_class = Received

    def _reply(self, text: str) -> tuple[int, bytes]:
        return 200, text.encode()


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


emulator = channel_servers.module_process_fixture(
    EmulatorProcess, "alipay", notify_schedule=SCHEDULE, min_expire_seconds=1
)
_well_behaved = channel_servers.well_behaved_fixture()
receiver = channel_servers.receiver_fixture(Receiver)


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
    return channel_servers.poller(default_timeout=10.0)
