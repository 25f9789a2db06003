"""Callbacks: the SDK's callback() decrypts and verifies what the emulator POSTs; retries follow the
schedule; refunds settle PROCESSING → SUCCESS/CLOSED/ABNORMAL with their notifications."""

import base64
import itertools
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import SCHEDULE, new_out_trade_no, sdk_client


def _paid_order(native_order, emulator, total=100):
    out_trade_no, code, _ = native_order(total=total)
    assert code == 200
    assert emulator.pay(out_trade_no).status_code == 200
    return out_trade_no


def _refund(wxpay, out_trade_no, refund, total=100, out_refund_no=None, notify_url=None):
    code, text = wxpay.refund(
        out_refund_no=out_refund_no or new_out_trade_no("re"),
        amount={"refund": refund, "total": total, "currency": "CNY"},
        out_trade_no=out_trade_no,
        notify_url=notify_url,
    )
    return code, json.loads(text)


def test_payment_callback_is_decrypted_and_verified_by_the_sdk(
    native_order, wxpay, emulator, receiver
):
    out_trade_no = _paid_order(native_order, emulator, total=4321)
    [callback] = receiver.wait_for(1)

    event = wxpay.callback(callback.headers, callback.body)
    assert event is not None, "the SDK could not verify or decrypt the callback"
    assert event["event_type"] == "TRANSACTION.SUCCESS"
    assert event["resource_type"] == "encrypt-resource"
    assert event["id"].startswith("EV-")
    resource = event["resource"]
    assert resource["out_trade_no"] == out_trade_no
    assert resource["trade_state"] == "SUCCESS"
    assert resource["amount"]["total"] == 4321
    assert resource["mchid"] == emulator.manifest["mchid"]
    # The callback's transaction is what a query answers.
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1]) == resource
    assert callback.headers["Wechatpay-Serial"] == emulator.manifest["platform_public_key_id"]


def test_sdk_rejects_tampered_or_foreign_callbacks(native_order, wxpay, emulator, receiver):
    _paid_order(native_order, emulator)
    [callback] = receiver.wait_for(1)
    payload = callback.payload

    tampered = dict(payload, summary="支付失败")
    assert wxpay.callback(callback.headers, json.dumps(tampered, ensure_ascii=False)) is None

    ciphertext = bytearray(base64.b64decode(payload["resource"]["ciphertext"]))
    ciphertext[0] ^= 1
    resource = dict(payload["resource"], ciphertext=base64.b64encode(ciphertext).decode())
    # Re-signed would need the platform key; unsigned, the SDK refuses before decrypting.
    assert wxpay.callback(callback.headers, json.dumps(dict(payload, resource=resource))) is None

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert (
        sdk_client(emulator, receiver.url, public_key=pem).callback(callback.headers, callback.body)
        is None
    )
    wrong_apiv3 = sdk_client(emulator, receiver.url, apiv3_key="0" * 32)
    assert wrong_apiv3.callback(callback.headers, callback.body) is None
    assert wxpay.callback(callback.headers, callback.body) is not None  # the original still holds


def test_callback_is_retried_until_acknowledged(
    native_order, wxpay, emulator, receiver, eventually
):
    receiver.answer_with(500, 503)
    out_trade_no = _paid_order(native_order, emulator)
    received = receiver.wait_for(3)
    assert len(received) == 3
    bodies = {item.body for item in received}
    assert len(bodies) == 1  # one event, the same encrypted body every time
    assert len({item.headers["Wechatpay-Nonce"] for item in received}) == 3  # freshly signed
    assert all(wxpay.callback(item.headers, item.body) for item in received)
    # The receiver may see the third attempt before the emulator has recorded its answer.
    assert eventually(lambda: len(emulator.notifications(out_trade_no)) == 3)
    attempts = emulator.notifications(out_trade_no)
    assert [(a["attempt"], a["status"], a["http_status"]) for a in attempts] == [
        (1, "sent", 500),
        (2, "sent", 503),
        (3, "delivered", 204),
    ]
    # Each retry waits at least its step of the schedule (a lower bound, not a timing).
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= step * 0.9 for gap, step in zip(gaps, SCHEDULE[1:3], strict=True))


def test_callback_is_abandoned_after_the_last_step(native_order, emulator, receiver, eventually):
    receiver.answer_with(*[500] * len(SCHEDULE))
    out_trade_no = _paid_order(native_order, emulator)
    assert len(receiver.wait_for(len(SCHEDULE))) == len(SCHEDULE)
    assert eventually(lambda: len(emulator.notifications(out_trade_no)) == len(SCHEDULE))
    receiver.wait_for(len(SCHEDULE) + 1, timeout=1.5)
    assert len(receiver.received) == len(SCHEDULE)


def test_refund_settles_with_a_refund_success_callback(native_order, wxpay, emulator, receiver):
    out_trade_no = _paid_order(native_order, emulator)
    receiver.wait_for(1)
    out_refund_no = new_out_trade_no("re")
    code, refund = _refund(wxpay, out_trade_no, 40, out_refund_no=out_refund_no)
    assert code == 200
    assert refund["status"] == "PROCESSING"
    assert refund["amount"]["refund"] == 40
    assert refund["out_trade_no"] == out_trade_no

    callback = receiver.wait_for(2)[1]
    event = wxpay.callback(callback.headers, callback.body)
    assert event["event_type"] == "REFUND.SUCCESS"
    assert event["resource"]["refund_status"] == "SUCCESS"
    assert event["resource"]["out_refund_no"] == out_refund_no
    assert event["resource"]["amount"]["refund"] == 40

    code, text = wxpay.query_refund(out_refund_no)
    assert code == 200
    assert json.loads(text)["status"] == "SUCCESS"
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "REFUND"
    # Same out_refund_no again: the same refund, nothing more refunded.
    code, again = _refund(wxpay, out_trade_no, 40, out_refund_no=out_refund_no)
    assert (code, again["refund_id"], again["status"]) == (200, refund["refund_id"], "SUCCESS")
    code, other = _refund(wxpay, out_trade_no, 41, out_refund_no=out_refund_no)
    assert (code, other["code"]) == (400, "INVALID_REQUEST")


def test_refunds_never_exceed_what_was_paid(native_order, wxpay, emulator):
    out_trade_no = _paid_order(native_order, emulator)
    assert _refund(wxpay, out_trade_no, 60)[0] == 200
    code, error = _refund(wxpay, out_trade_no, 41)
    assert (code, error["code"]) == (400, "INVALID_REQUEST")
    assert _refund(wxpay, out_trade_no, 40)[0] == 200
    code, error = _refund(wxpay, out_trade_no, 1)
    assert (code, error["code"]) == (400, "INVALID_REQUEST")
    code, error = _refund(wxpay, out_trade_no, 10, total=99)
    assert (code, error["code"]) == (400, "PARAM_ERROR")

    unpaid, _, _ = native_order()
    code, error = _refund(wxpay, unpaid, 10)
    assert (code, error["code"]) == (400, "INVALID_REQUEST")
    code, error = _refund(wxpay, new_out_trade_no("missing"), 10)
    assert (code, error["code"]) == (404, "RESOURCE_NOT_EXISTS")
    code, text = wxpay.query_refund(new_out_trade_no("missing"))
    assert (code, json.loads(text)["code"]) == (404, "RESOURCE_NOT_EXISTS")


def test_a_failed_refund_is_closed_and_frees_its_amount(native_order, wxpay, emulator, receiver):
    out_trade_no = _paid_order(native_order, emulator)
    receiver.wait_for(1)
    emulator.set_faults({"refund_fail_rate": 1})
    out_refund_no = new_out_trade_no("re")
    assert _refund(wxpay, out_trade_no, 100, out_refund_no=out_refund_no)[0] == 200
    event = wxpay.callback(*_parts(receiver.wait_for(2)[1]))
    assert (event["event_type"], event["resource"]["refund_status"]) == ("REFUND.CLOSED", "CLOSED")
    assert json.loads(wxpay.query_refund(out_refund_no)[1])["status"] == "CLOSED"
    emulator.reset_faults()
    assert _refund(wxpay, out_trade_no, 100)[0] == 200  # a closed refund took nothing


def test_an_abnormal_refund_is_notified(tmp_path, receiver):
    from wechatpay_emulator.runner import EmulatorProcess

    with EmulatorProcess(tmp_path / "slow", refund_delay_ms=600_000) as emulator:
        wxpay = sdk_client(emulator, receiver.url)
        out_trade_no = new_out_trade_no()
        assert wxpay.pay(description="x", out_trade_no=out_trade_no, amount={"total": 9})[0] == 200
        emulator.pay(out_trade_no)
        receiver.wait_for(1)
        out_refund_no = new_out_trade_no("re")
        assert _refund(wxpay, out_trade_no, 9, total=9, out_refund_no=out_refund_no)[0] == 200
        assert json.loads(wxpay.query_refund(out_refund_no)[1])["status"] == "PROCESSING"
        assert emulator.settle_refund(out_refund_no, "ABNORMAL")["status"] == "ABNORMAL"
        event = wxpay.callback(*_parts(receiver.wait_for(2)[1]))
        assert event["event_type"] == "REFUND.ABNORMAL"
        assert json.loads(wxpay.query_refund(out_refund_no)[1])["status"] == "ABNORMAL"


def _parts(received):
    return received.headers, received.body
