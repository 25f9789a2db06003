"""Async notifies: python-alipay-sdk's verify() accepts what the emulator POSTs and rejects tampered
ones; retries follow the schedule until the body is exactly ``success``; refunds notify too."""

import itertools
import re
from pathlib import Path

from .conftest import SCHEDULE, new_out_trade_no, sdk_client


def _verified(alipay, form: dict[str, str]) -> bool:
    data = dict(form)
    signature = data.pop("sign")
    return alipay.verify(data, signature)


def test_the_payment_notify_is_verified_by_the_sdk(paid, alipay, emulator, receiver):
    out_trade_no = paid("43.21")
    [notify] = receiver.wait_for(1)
    form = notify.form
    assert notify.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert _verified(alipay, form)
    assert form["notify_type"] == "trade_status_sync"
    assert (form["out_trade_no"], form["trade_status"]) == (out_trade_no, "TRADE_SUCCESS")
    assert (form["total_amount"], form["receipt_amount"]) == ("43.21", "43.21")
    assert (form["app_id"], form["sign_type"], form["charset"]) == (
        emulator.manifest["app_id"],
        "RSA2",
        "utf-8",
    )
    query = alipay.api_alipay_trade_query(out_trade_no=out_trade_no)
    assert (form["trade_no"], form["gmt_payment"]) == (query["trade_no"], query["send_pay_date"])
    assert len(form["notify_time"]) == 19 and form["notify_id"]


def test_the_sdk_rejects_tampered_or_foreign_notifies(paid, alipay, emulator, receiver):
    paid("1.00")
    form = receiver.wait_for(1)[0].form
    for key, value in (("total_amount", "100.00"), ("trade_status", "TRADE_FINISHED")):
        assert not _verified(alipay, {**form, key: value})
    assert not _verified(alipay, {**form, "refund_fee": "1.00"})  # an added parameter
    assert not _verified(alipay, {key: value for key, value in form.items() if key != "subject"})

    stranger = sdk_client(
        emulator, alipay_public_key=Path(emulator.manifest["app_public_key_file"]).read_text()
    )
    assert not _verified(stranger, form)  # verified against another key than Alipay's
    assert _verified(alipay, form)  # the original still holds


def test_a_notify_is_retried_until_the_answer_is_exactly_success(
    paid, alipay, emulator, receiver, eventually
):
    receiver.answer_with("fail", "success\n")
    out_trade_no = paid()
    received = receiver.wait_for(3)
    assert len(received) == 3
    forms = [item.form for item in received]
    assert len({form["notify_id"] for form in forms}) == 1  # one notify, retried
    assert all(_verified(alipay, form) for form in forms)  # each attempt signed afresh
    assert eventually(lambda: len(emulator.notifications(out_trade_no)) == 3)
    attempts = emulator.notifications(out_trade_no)
    assert [(a["attempt"], a["status"], a["response_body"]) for a in attempts] == [
        (1, "sent", "fail"),
        (2, "sent", "success\n"),
        (3, "delivered", "success"),
    ]
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= step * 0.9 for gap, step in zip(gaps, SCHEDULE[1:3], strict=True))


def test_a_notify_is_abandoned_after_the_last_step(paid, emulator, receiver, eventually):
    receiver.answer_with(*["fail"] * len(SCHEDULE))
    out_trade_no = paid()
    assert len(receiver.wait_for(len(SCHEDULE))) == len(SCHEDULE)
    assert eventually(lambda: len(emulator.notifications(out_trade_no)) == len(SCHEDULE))
    receiver.wait_for(len(SCHEDULE) + 1, timeout=1.5)
    assert len(receiver.received) == len(SCHEDULE)


def test_refunds_and_the_end_of_the_refund_period_are_notified(paid, alipay, emulator, receiver):
    out_trade_no = paid("5.00")
    receiver.wait_for(1)
    alipay.api_alipay_trade_refund("2.00", out_trade_no=out_trade_no, out_request_no="part")
    partial = receiver.wait_for(2)[1].form
    assert _verified(alipay, partial)
    assert (partial["trade_status"], partial["out_biz_no"], partial["refund_fee"]) == (
        "TRADE_SUCCESS",
        "part",
        "2.00",
    )
    # Alipay documents gmt_refund as yyyy-MM-dd HH:mm:ss.S (its example: 15:45:57.320)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", partial["gmt_refund"])
    alipay.api_alipay_trade_refund("3.00", out_trade_no=out_trade_no, out_request_no="rest")
    full = receiver.wait_for(3)[2].form
    assert _verified(alipay, full)
    assert (full["trade_status"], full["refund_fee"]) == ("TRADE_CLOSED", "5.00")
    assert "gmt_close" in full

    other = paid()
    emulator.finish(other)
    finished = [item.form for item in receiver.wait_for(5) if item.form["out_trade_no"] == other]
    assert [form["trade_status"] for form in finished] == ["TRADE_SUCCESS", "TRADE_FINISHED"]
    assert all(_verified(alipay, form) for form in finished)


def test_no_notify_without_a_notify_url(emulator, receiver):
    quiet = sdk_client(emulator)
    out_trade_no = new_out_trade_no()
    assert quiet.api_alipay_trade_precreate("x", out_trade_no, "1.00")["code"] == "10000"
    emulator.pay(out_trade_no)
    assert receiver.wait_for(1, timeout=0.5) == []
    assert emulator.notifications(out_trade_no) == []
