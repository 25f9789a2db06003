"""python-alipay-sdk (PyPI, written by others from Alipay's documentation) and our adapter agree,
both ways: the SDK's verification accepts our request signatures, our adapter accepts what the
SDK signs as Alipay, and on the emulator's real notifies, good and tampered, they say the same."""

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from alipay import AliPay
from cryptography.hazmat.primitives import serialization

from payments.channels.alipay import AlipayChannel, signing
from payments.channels.base import CreateTrade, NotificationRejected, RejectReason, TradeResult
from payments.enums import PaymentClient
from tests.channels.contract.receiver import CallbackReceiver

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def adapter(alipay_process):
    return AlipayChannel(
        code="alipay",
        gateway_url=alipay_process.gateway_url,
        manifest_file=str(alipay_process.data_dir / "keys" / "manifest.json"),
        timeout=5,
    )


def sdk(alipay_process, *, signs_with: str, verifies_with: str) -> AliPay:
    """The SDK holding the given key files of the emulator's manifest."""
    manifest = alipay_process.manifest
    return AliPay(
        appid=manifest["app_id"],
        app_notify_url=None,
        app_private_key_string=Path(manifest[signs_with]).read_text(),
        alipay_public_key_string=Path(manifest[verifies_with]).read_text(),
        sign_type="RSA2",
    )


def create(adapter, client: PaymentClient, notify_url: str = "http://127.0.0.1:9/notify"):
    out_trade_no = "P" + secrets.token_hex(12)
    action = adapter.create_trade(
        CreateTrade(
            out_trade_no=out_trade_no,
            amount=4321,
            currency="CNY",
            subject="Peer test 绿茶",
            notify_url=notify_url,
            time_expire=datetime.now(UTC) + timedelta(minutes=10),
            client=client,
            return_url="http://127.0.0.1:9/return",
        )
    )
    return out_trade_no, action


def test_our_request_signature_verifies_with_the_sdks_code(alipay_process, adapter):
    # the SDK as Alipay's side: it verifies with the app's public key
    peer = sdk(
        alipay_process, signs_with="app_private_key_file", verifies_with="app_public_key_file"
    )
    _, action = create(adapter, PaymentClient.MOBILE)  # a signed wap.pay URL, as we send it
    params = dict(parse_qsl(urlsplit(action.url).query))
    message = signing.signing_string(params)

    assert peer._verify(message, params["sign"])
    assert not peer._verify(
        message.replace("4321", "4322").replace("43.21", "43.22"), params["sign"]
    )


def test_what_the_sdk_signs_our_signing_verifies(alipay_process):
    peer = sdk(
        alipay_process, signs_with="app_private_key_file", verifies_with="app_public_key_file"
    )
    manifest = alipay_process.manifest
    signed = dict(
        parse_qsl(
            peer.api_alipay_trade_wap_pay(
                subject="绿茶", out_trade_no="P1", total_amount="0.01", return_url="http://x/"
            )
        )
    )
    app_public = serialization.load_pem_public_key(
        Path(manifest["app_public_key_file"]).read_bytes()
    )

    assert signing.verifies(app_public, signing.signing_string(signed), signed["sign"])
    signed["total_amount"] = "0.02"
    assert not signing.verifies(app_public, signing.signing_string(signed), signed["sign"])


def _notify_as_alipay(alipay_process, peer: AliPay, **fields) -> bytes:
    manifest = alipay_process.manifest
    params = {
        "notify_type": "trade_status_sync",
        "notify_id": secrets.token_hex(16),
        "notify_time": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
        "app_id": manifest["app_id"],
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026" + secrets.token_hex(8),
        "out_trade_no": "P" + secrets.token_hex(12),
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "12.34",
        "gmt_payment": "2026-12-01 18:00:00",
        **fields,
    }
    # Alipay signs a notify without sign_type, which is added beside the sign
    signed = dict(parse_qsl(peer.sign_data(params)))
    return urlencode({**signed, "sign_type": "RSA2"}).encode()


def test_a_notify_the_sdk_signs_as_alipay_is_accepted_by_our_adapter(alipay_process, adapter):
    alipay_side = sdk(
        alipay_process, signs_with="alipay_private_key_file", verifies_with="alipay_public_key_file"
    )
    body = _notify_as_alipay(alipay_process, alipay_side)

    result = adapter.parse_notification({}, body).result

    assert isinstance(result, TradeResult) and result.amount == 1234
    with pytest.raises(NotificationRejected) as rejected:
        adapter.parse_notification({}, body.replace(b"total_amount=12.34", b"total_amount=1.34"))
    assert rejected.value.reason == RejectReason.BAD_SIGNATURE


def test_on_the_emulators_real_notify_the_sdk_and_our_adapter_agree(alipay_process, adapter):
    peer = sdk(
        alipay_process, signs_with="app_private_key_file", verifies_with="alipay_public_key_file"
    )
    with CallbackReceiver(adapter.acknowledgement()) as receiver:
        out_trade_no, _ = create(adapter, PaymentClient.PC, f"{receiver.url}/trade")
        assert alipay_process.pay(out_trade_no).ok
        body = receiver.first("/trade").body
    genuine = dict(parse_qsl(body.decode()))
    tampered = {**genuine, "total_amount": "0.01"}

    def sdk_accepts(params):
        params = dict(params)
        return peer.verify(params, params.pop("sign"))

    def adapter_accepts(params):
        try:
            adapter.parse_notification({}, urlencode(params).encode())
        except NotificationRejected:
            return False
        return True

    assert sdk_accepts(genuine) and adapter_accepts(genuine)
    assert not sdk_accepts(tampered) and not adapter_accepts(tampered)
