"""Refunds (idempotent, never more than paid, optionally delayed or asynchronous with a
notification, conflicting while in flight) and the daily statement."""

import time
from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def paid_trade(create_trade):
    def pay(sandbox, out_trade_no, **fields):
        create_trade(sandbox, out_trade_no, **fields)
        response = sandbox.pay(out_trade_no)
        assert response.status_code == 200
        return response.json()

    return pay


def refund(sandbox, out_trade_no, out_refund_no, amount, **fields):
    body = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "amount": amount}
    return sandbox.request("POST", "/v1/refunds", json=body | fields)


def test_a_refund_succeeds_and_repeating_it_changes_nothing(sandbox, paid_trade):
    paid_trade(sandbox, "pay_001", amount=1000)

    first = refund(sandbox, "pay_001", "re_001", 300)
    again = refund(sandbox, "pay_001", "re_001", 300)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["status"] == "SUCCESS"
    assert first.json()["refund_no"].startswith("SBR")
    assert (first.json()["out_trade_no"], first.json()["amount"]) == ("pay_001", 300)
    assert first.json()["succeeded_at"] is not None
    assert sandbox.refund("re_001") == first.json()
    assert sandbox.trade("pay_001")["refunded_amount"] == 300


def test_reusing_an_out_refund_no_with_other_terms_conflicts(sandbox, paid_trade):
    paid_trade(sandbox, "pay_001")
    paid_trade(sandbox, "pay_002")
    refund(sandbox, "pay_001", "re_001", 300)

    other_amount = refund(sandbox, "pay_001", "re_001", 200)
    other_trade = refund(sandbox, "pay_002", "re_001", 300)

    for response in (other_amount, other_trade):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "OUT_REFUND_NO_CONFLICT"
    assert sandbox.trade("pay_001")["refunded_amount"] == 300
    assert sandbox.trade("pay_002")["refunded_amount"] == 0


def test_refunds_never_exceed_the_paid_amount(sandbox, paid_trade):
    paid_trade(sandbox, "pay_001", amount=1000)
    assert refund(sandbox, "pay_001", "re_001", 600).status_code == 200

    too_much = refund(sandbox, "pay_001", "re_002", 401)
    the_rest = refund(sandbox, "pay_001", "re_003", 400)

    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "REFUND_EXCEEDS_PAID"
    assert sandbox.request("GET", "/v1/refunds/re_002").status_code == 404
    assert the_rest.status_code == 200
    assert sandbox.trade("pay_001")["refunded_amount"] == 1000


def test_only_paid_and_known_trades_can_be_refunded(sandbox, create_trade):
    create_trade(sandbox, "pay_001")

    unpaid = refund(sandbox, "pay_001", "re_001", 100)
    unknown = refund(sandbox, "nope", "re_002", 100)
    bad_amount = refund(sandbox, "pay_001", "re_003", 0)

    assert unpaid.status_code == 409
    assert unpaid.json()["error"]["code"] == "TRADE_NOT_PAID"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "TRADE_NOT_FOUND"
    assert bad_amount.status_code == 400
    missing = sandbox.request("GET", "/v1/refunds/re_001")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "REFUND_NOT_FOUND"


def test_a_delayed_refund_is_processing_until_its_time(start_sandbox, paid_trade):
    sandbox = start_sandbox(refund_delay_ms=400)
    paid_trade(sandbox, "pay_001", amount=1000)

    created = refund(sandbox, "pay_001", "re_001", 1000).json()

    assert created["status"] == "PROCESSING"
    assert created["succeeded_at"] is None
    assert sandbox.trade("pay_001")["refunded_amount"] == 0
    # Processing refunds already count against what may still be refunded.
    assert refund(sandbox, "pay_001", "re_002", 1).status_code == 409
    time.sleep(0.5)
    assert sandbox.refund("re_001")["status"] == "SUCCESS"
    assert sandbox.trade("pay_001")["refunded_amount"] == 1000


def test_a_failed_refund_frees_its_amount(sandbox, paid_trade):
    paid_trade(sandbox, "pay_001", amount=1000)
    sandbox.set_faults({"refund_fail_rate": 1})

    failed = refund(sandbox, "pay_001", "re_001", 1000).json()
    sandbox.reset_faults()
    retried = refund(sandbox, "pay_001", "re_002", 1000).json()

    assert failed["status"] == "FAILED"
    assert failed["succeeded_at"] is None
    assert retried["status"] == "SUCCESS"
    assert sandbox.trade("pay_001")["refunded_amount"] == 1000


def test_the_statement_lists_the_days_payments_and_refunds(sandbox, paid_trade, create_trade):
    tea = paid_trade(sandbox, "pay_001", amount=1000)
    card = paid_trade(sandbox, "pay_002", amount=500, channel="sandbox_card", currency="USD")
    create_trade(sandbox, "pay_003")  # never paid: not on the statement
    re_001 = refund(sandbox, "pay_001", "re_001", 250).json()
    today = tea["paid_at"][:10]

    lines = sandbox.statement(today).splitlines()
    card_only = sandbox.statement(today, channel="sandbox_card").splitlines()

    header = (
        "type,channel,trade_no,out_trade_no,out_refund_no,refund_no,amount,currency,status,time"
    )
    assert lines[0] == header
    assert sorted(lines[1:]) == sorted(
        [
            f"payment,sandbox,{tea['trade_no']},pay_001,,,1000,CNY,SUCCESS,{tea['paid_at']}",
            f"payment,sandbox_card,{card['trade_no']},pay_002,,,500,USD,SUCCESS,{card['paid_at']}",
            f"refund,sandbox,{tea['trade_no']},pay_001,re_001,{re_001['refund_no']},250,CNY,"
            f"SUCCESS,{re_001['succeeded_at']}",
        ]
    )
    assert card_only == [header, next(line for line in lines if ",pay_002," in line)]


def test_another_days_statement_is_empty_and_bad_dates_are_400(sandbox, paid_trade):
    paid_trade(sandbox, "pay_001")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

    assert sandbox.statement(yesterday).splitlines() == [
        "type,channel,trade_no,out_trade_no,out_refund_no,refund_no,amount,currency,status,time"
    ]
    assert sandbox.request("GET", "/v1/statements/2024-13-01").status_code == 400
    assert sandbox.request("GET", "/v1/statements/20240101").status_code == 400
    unknown_channel = sandbox.request("GET", "/v1/statements/2024-01-01?channel=alipay")
    assert unknown_channel.status_code == 400
    assert unknown_channel.headers["Content-Type"].startswith("application/json")
    assert (
        sandbox.request("GET", f"/v1/statements/{yesterday}")
        .headers["Content-Type"]
        .startswith("text/csv")
    )


def test_an_async_refund_answers_processing_and_notifies_when_it_settles(
    sandbox, paid_trade, receiver
):
    paid_trade(sandbox, "pay_001", amount=1000)
    receiver.wait_for(1)  # the payment's notification
    sandbox.set_faults({"refund_async": True, "refund_async_ms": 1500})

    created = refund(sandbox, "pay_001", "re_001", 400, notify_url=receiver.url).json()
    # Nobody reads the refund: the channel settles it and calls back on its own.
    notification = receiver.wait_for(2)[1:]

    assert (created["status"], created["succeeded_at"]) == ("PROCESSING", None)
    [notification] = notification
    assert notification.signature_ok
    assert {"X-Sandbox-Timestamp", "X-Sandbox-Nonce"} <= set(notification.headers)
    settled = sandbox.refund("re_001")
    assert settled["status"] == "SUCCESS"
    assert settled["succeeded_at"] is not None
    assert notification.payload == settled | {
        "notify_id": notification.payload["notify_id"],
        "event": "refund.success",
        "type": "refund",
        "channel": "sandbox",
    }
    assert (settled["amount"], settled["currency"]) == (400, "CNY")
    assert sandbox.trade("pay_001")["refunded_amount"] == 400


def test_an_async_refund_notification_is_retried_like_a_trade_notification(
    sandbox, paid_trade, receiver, eventually
):
    paid_trade(sandbox, "pay_001", amount=1000)
    receiver.wait_for(1)
    sandbox.set_faults({"refund_async": True, "refund_async_ms": 200, "refund_fail_rate": 1})
    receiver.answer_with((500, "oops"))

    refund(sandbox, "pay_001", "re_001", 1000, notify_url=receiver.url)
    received = receiver.wait_for(3)[1:]

    assert len(received) == 2
    assert received[0].body == received[1].body
    assert received[0].headers["X-Sandbox-Nonce"] != received[1].headers["X-Sandbox-Nonce"]
    payload = received[0].payload
    assert (payload["event"], payload["status"], payload["succeeded_at"]) == (
        "refund.failed",
        "FAILED",
        None,
    )
    assert sandbox.refund("re_001")["status"] == "FAILED"
    # the sandbox logs an attempt once it has the answer: after the receiver saw the request
    refund_attempts = eventually(
        lambda: [a for a in sandbox.notifications("pay_001") if a["attempt"] == 2]
    )
    assert [a["notify_id"] for a in refund_attempts] == [payload["notify_id"]]


def test_refunds_without_async_or_notify_url_send_no_notification(
    start_sandbox, paid_trade, receiver
):
    sandbox = start_sandbox(refund_delay_ms=200)
    paid_trade(sandbox, "pay_001", amount=1000)
    refund(sandbox, "pay_001", "re_001", 100, notify_url=receiver.url)  # not async
    sandbox.set_faults({"refund_async": True, "refund_async_ms": 200})
    refund(sandbox, "pay_001", "re_002", 100)  # async, nowhere to notify

    time.sleep(0.6)

    assert [sandbox.refund(no)["status"] for no in ("re_001", "re_002")] == ["SUCCESS"] * 2
    assert [r.payload["type"] for r in receiver.received] == ["trade"]


def test_a_bad_refund_notify_url_is_a_400_and_creates_nothing(sandbox, paid_trade):
    paid_trade(sandbox, "pay_001")

    for notify_url in ("ftp://merchant.test/cb", "not a url", 42, ""):
        response = refund(sandbox, "pay_001", "re_001", 100, notify_url=notify_url)

        assert response.status_code == 400, notify_url
        assert response.json()["error"]["code"] == "INVALID_REQUEST", notify_url
    assert sandbox.request("GET", "/v1/refunds/re_001").status_code == 404


@pytest.mark.parametrize("in_flight", ["refund_async", "refund_delay_ms"])
def test_a_refund_repeated_while_in_flight_answers_409_refund_in_progress(
    start_sandbox, paid_trade, eventually, in_flight
):
    sandbox = start_sandbox(refund_delay_ms=1500 if in_flight == "refund_delay_ms" else 0)
    paid_trade(sandbox, "pay_001", amount=1000)
    faults = {"refund_conflict_rate": 1}
    if in_flight == "refund_async":
        faults |= {"refund_async": True, "refund_async_ms": 1500}
    sandbox.set_faults(faults)

    first = refund(sandbox, "pay_001", "re_001", 1000)
    repeated = refund(sandbox, "pay_001", "re_001", 1000)
    settled = eventually(lambda: sandbox.refund("re_001")["status"] == "SUCCESS", timeout=10)
    after = refund(sandbox, "pay_001", "re_001", 1000)

    assert first.json()["status"] == "PROCESSING"
    assert repeated.status_code == 409
    assert repeated.json()["error"]["code"] == "REFUND_IN_PROGRESS"
    assert settled
    assert after.status_code == 200
    assert after.json() == sandbox.refund("re_001")
    assert sandbox.trade("pay_001")["refunded_amount"] == 1000
