"""Fuzz: any body at all, signed by Alipay's key or not, is a Notification or a
NotificationRejected from the adapter, never another exception (the inbox would answer 500)."""

import contextlib
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from payments.channels.alipay import AlipayChannel, signing
from payments.channels.base import Notification, NotificationRejected

CHINA = ZoneInfo("Asia/Shanghai")
FIELDS = [
    "notify_type",
    "notify_id",
    "notify_time",
    "app_id",
    "trade_no",
    "out_trade_no",
    "trade_status",
    "total_amount",
    "gmt_payment",
    "out_biz_no",
    "refund_fee",
    "sign_type",
]
values = st.one_of(
    st.text(max_size=40),  # NUL and any unicode included
    st.sampled_from(["TRADE_SUCCESS", "WAIT_BUYER_PAY", "TRADE_CLOSED", "12.34", "0.00", "-1"]),
    st.sampled_from(["12.345", "1e3", "2026-12-01 18:00:00", "2026-13-45 99:99:99", "RSA2"]),
)
forms = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), values, max_size=14)


@pytest.fixture(scope="module")
def alipay_key(alipay_process):
    path = Path(alipay_process.manifest["alipay_private_key_file"])
    return serialization.load_pem_private_key(path.read_bytes(), None)


def test_hostile_notifies_are_notifications_or_rejections(alipay_process, alipay_key):
    adapter = AlipayChannel(
        code="alipay",
        gateway_url=alipay_process.gateway_url,
        manifest_file=str(alipay_process.data_dir / "keys" / "manifest.json"),
    )
    app_id = alipay_process.manifest["app_id"]

    @given(st.binary(max_size=500) | forms.map(lambda form: urlencode(form).encode()))
    @hypothesis_settings(
        max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    def fuzz_unsigned(body):
        with contextlib.suppress(NotificationRejected):
            adapter.parse_notification({}, body)

    @given(forms, st.booleans())
    @hypothesis_settings(
        max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    def fuzz_signed(form, ours):
        # past the signature check: correctly signed by Alipay's key, any content
        if ours:
            form = {"app_id": app_id, "sign_type": "RSA2", **form}
            form.setdefault("notify_time", datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"))
        message = signing.signing_string(form, signing.NOTIFY_UNSIGNED)
        body = urlencode({**form, "sign": signing.sign(alipay_key, message)}).encode()
        with contextlib.suppress(NotificationRejected):
            assert isinstance(adapter.parse_notification({}, body), Notification)

    fuzz_unsigned()
    fuzz_signed()
