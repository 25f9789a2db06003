"""Refunds (idempotent, never more than paid, optionally delayed) and the daily statement."""

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


def refund(sandbox, out_trade_no, out_refund_no, amount):
    body = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "amount": amount}
    return sandbox.request("POST", "/v1/refunds", json=body)


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
