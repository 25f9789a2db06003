"""The adapter and the PyPI `wechatpayv3` SDK (written by others from WeChat's documentation)
agree, both ways, against the emulator process: orders made by one are read alike by the other,
callbacks read by both say the same, and callbacks the SDK cannot verify the adapter rejects."""

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client

from payments.channels.base import (
    CreateTrade,
    NotificationRejected,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    RejectReason,
    TradeRef,
    TradeStatus,
)
from payments.channels.wechatpay import WechatpayChannel
from payments.enums import NotificationOutcome, PaymentClient
from payments.models import ChannelNotification
from tests.channels.contract.receiver import CallbackReceiver
from tests.wechatpay_emulator.conftest import expire_in, sdk_client


def adapter_for(emulator, **overrides) -> WechatpayChannel:
    manifest = str(emulator.data_dir / "keys" / "manifest.json")
    return WechatpayChannel(
        code="wechatpay", base_url=emulator.url, manifest_file=manifest, timeout=5, **overrides
    )


@pytest.fixture
def adapter(wechatpay_process):
    wechatpay_process.reset_faults()
    return adapter_for(wechatpay_process)


@pytest.fixture
def receiver(adapter):
    with CallbackReceiver(adapter.acknowledgement()) as endpoint:
        yield endpoint


@pytest.fixture
def sdk(wechatpay_process, receiver):
    return sdk_client(wechatpay_process, f"{receiver.url}/sdk")


def create(adapter, receiver, amount=1234) -> str:
    out_trade_no = "P" + secrets.token_hex(12)
    adapter.create_trade(
        CreateTrade(
            out_trade_no=out_trade_no,
            amount=amount,
            currency="CNY",
            subject="Peer test",
            notify_url=f"{receiver.url}/trade/{out_trade_no}",
            time_expire=datetime.now(UTC) + timedelta(minutes=10),
            client=PaymentClient.PC,
        )
    )
    return out_trade_no


def test_an_order_of_the_adapter_is_read_alike_by_the_sdk(adapter, receiver, sdk):
    out_trade_no = create(adapter, receiver, amount=2345)

    code, text = sdk.query(out_trade_no=out_trade_no)  # the SDK verifies the signed answer

    assert code == 200
    answer = json.loads(text)
    assert (answer["trade_state"], answer["amount"]["total"]) == ("NOTPAY", 2345)
    assert adapter.query_trade(TradeRef(out_trade_no)).status == TradeStatus.PAYING


def test_an_order_of_the_sdk_is_read_closed_and_refunded_by_the_adapter(
    adapter, wechatpay_process, sdk
):
    unpaid, paid = "S" + secrets.token_hex(12), "S" + secrets.token_hex(12)
    for number in (unpaid, paid):
        code, _ = sdk.pay(
            description="Peer test",
            out_trade_no=number,
            amount={"total": 900, "currency": "CNY"},
            time_expire=expire_in(600),
        )
        assert code == 200
    assert wechatpay_process.pay(paid).ok

    assert adapter.close_trade(TradeRef(unpaid)).status == TradeStatus.CLOSED
    assert json.loads(sdk.query(out_trade_no=unpaid)[1])["trade_state"] == "CLOSED"
    success = adapter.close_trade(TradeRef(paid))  # ORDERPAID: asked, and the success applied
    assert (success.status, success.amount, success.currency) == (
        TradeStatus.SUCCEEDED,
        900,
        "CNY",
    )
    assert success.channel_trade_no == json.loads(sdk.query(out_trade_no=paid)[1])["transaction_id"]
    refund = adapter.refund(
        RefundRequest(
            trade=TradeRef(paid),
            out_refund_no="R" + secrets.token_hex(12),
            amount=400,
            total_amount=900,
            currency="CNY",
        )
    )
    code, text = sdk.query_refund(out_refund_no=refund.out_refund_no)
    assert code == 200 and json.loads(text)["amount"]["refund"] == 400


def test_payment_and_refund_callbacks_say_the_same_to_the_sdk_and_the_adapter(
    adapter, wechatpay_process, receiver, sdk
):
    out_trade_no = create(adapter, receiver, amount=1500)
    assert wechatpay_process.pay(out_trade_no).ok
    callback = receiver.first(f"/trade/{out_trade_no}")

    event = sdk.callback(callback.headers, callback.body)
    ours = adapter.parse_notification(callback.headers, callback.body).result

    resource = event["resource"]
    assert (ours.out_trade_no, ours.status, ours.amount, ours.currency) == (
        resource["out_trade_no"],
        TradeStatus.SUCCEEDED,
        resource["amount"]["total"],
        resource["amount"]["currency"],
    )
    assert ours.channel_trade_no == resource["transaction_id"]

    refund = adapter.refund(
        RefundRequest(
            trade=TradeRef(out_trade_no),
            out_refund_no="R" + secrets.token_hex(12),
            amount=500,
            total_amount=1500,
            currency="CNY",
            notify_url=f"{receiver.url}/refund/x",
        )
    )
    callback = receiver.first("/refund/x")
    event = sdk.callback(callback.headers, callback.body)
    ours = adapter.parse_notification(callback.headers, callback.body).result
    assert isinstance(ours, RefundResult) and event["event_type"] == "REFUND.SUCCESS"
    assert event["resource"]["out_refund_no"] == refund.out_refund_no
    assert (ours.out_refund_no, ours.status, ours.amount, ours.out_trade_no) == (
        refund.out_refund_no,
        RefundResultStatus.SUCCEEDED,
        event["resource"]["amount"]["refund"],
        event["resource"]["out_trade_no"],
    )


@pytest.fixture
def paid_callback(adapter, wechatpay_process, receiver):
    out_trade_no = create(adapter, receiver)
    assert wechatpay_process.pay(out_trade_no).ok
    return receiver.first(f"/trade/{out_trade_no}")


def _rejected(adapter, headers, body) -> RejectReason:
    with pytest.raises(NotificationRejected) as rejected:
        adapter.parse_notification(headers, body)
    return rejected.value.reason


def test_a_tampered_callback_is_refused_by_both(adapter, sdk, paid_callback):
    payload = json.loads(paid_callback.body)
    ciphertext = bytearray(base64.b64decode(payload["resource"]["ciphertext"]))
    ciphertext[0] ^= 1
    resource = dict(payload["resource"], ciphertext=base64.b64encode(ciphertext).decode())
    tampered = json.dumps(dict(payload, resource=resource)).encode()

    assert sdk.callback(paid_callback.headers, tampered) is None
    assert _rejected(adapter, paid_callback.headers, tampered) == RejectReason.BAD_SIGNATURE


def test_a_callback_under_a_foreign_platform_key_is_refused_by_both(
    tmp_path, wechatpay_process, receiver, paid_callback
):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "stranger.pem").write_bytes(pem)
    manifest = wechatpay_process.manifest
    foreign = adapter_for(
        wechatpay_process,
        platform_public_key_file=str(tmp_path / "stranger.pem"),
        platform_public_key_id=manifest["platform_public_key_id"],
    )

    sdk = sdk_client(wechatpay_process, receiver.url, public_key=pem.decode())
    assert sdk.callback(paid_callback.headers, paid_callback.body) is None
    reason = _rejected(foreign, paid_callback.headers, paid_callback.body)
    assert reason == RejectReason.BAD_SIGNATURE


def test_a_callback_under_another_apiv3_key_is_refused_by_both(
    tmp_path, wechatpay_process, receiver, paid_callback
):
    (tmp_path / "apiv3.txt").write_text("0" * 32)
    other = adapter_for(wechatpay_process, apiv3_key_file=str(tmp_path / "apiv3.txt"))

    sdk = sdk_client(wechatpay_process, receiver.url, apiv3_key="0" * 32)
    assert sdk.callback(paid_callback.headers, paid_callback.body) is None
    assert _rejected(other, paid_callback.headers, paid_callback.body) == (
        RejectReason.BAD_SIGNATURE
    )


@pytest.mark.django_db(transaction=True)
def test_a_stale_callback_the_sdk_accepts_is_rejected_by_the_inbox(
    wechatpay, wechatpay_process, sdk, paid_callback
):
    """The SDK checks no timestamps; re-signed (by the platform key) ten minutes old, the same
    body verifies for both, and the inbox refuses it as stale."""
    platform_key = serialization.load_pem_private_key(
        Path(wechatpay_process.manifest["platform_private_key_file"]).read_bytes(), None
    )
    timestamp, nonce = str(int(time.time()) - 600), secrets.token_hex(16)
    message = f"{timestamp}\n{nonce}\n".encode() + paid_callback.body + b"\n"
    signature = platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    headers = dict(
        paid_callback.headers,
        **{
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
        },
    )
    assert sdk.callback(headers, paid_callback.body) is not None

    answer = Client().post(
        "/callbacks/wechatpay/",
        data=paid_callback.body,
        content_type="application/json",
        **{
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in headers.items()
            if name.lower().startswith("wechatpay-")
        },
    )

    assert answer.status_code == 400
    (stored,) = ChannelNotification.objects.all()
    assert (stored.outcome, stored.error_code) == (NotificationOutcome.REJECTED, "stale")
