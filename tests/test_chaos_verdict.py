"""The chaos check's verdict on hand-made records: each broken promise is named."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from config.chaos.doors import Answers, answer_kind
from config.chaos.verdict import Clock, Ledger, judge

OK_ANSWERS = {"ok": 10}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CLOCK = Clock(NOW, timedelta(minutes=2))


def order(
    status="PAID",
    winner="pay_1",
    payments=(("pay_1", "t1", "SUCCEEDED"),),
    refunds=(),
    expires_at=NOW - timedelta(minutes=30),
):
    return {
        "id": "ord_1",
        "status": status,
        "expires_at": expires_at.isoformat(),
        "amount": 100,
        "paid_payment": winner if status == "PAID" else None,
        "payments": [
            {"id": pid, "out_trade_no": trade, "status": state} for pid, trade, state in payments
        ],
        "refunds": [{"out_refund_no": no, "status": state} for no, state in refunds],
    }


TWO_PAID = (("pay_1", "t1", "SUCCEEDED"), ("pay_2", "t2", "SUCCEEDED"))


def test_a_paid_order_and_a_refunded_double_hold():
    verdict = judge(
        [order(payments=TWO_PAID, refunds=(("re_1", "SUCCEEDED"),))],
        Ledger({"t1": 100, "t2": 100}, {"t2": [100]}),
        OK_ANSWERS,
        CLOCK,
    )

    assert verdict.holds, verdict.violations
    assert verdict.figures["extra successes"] == verdict.figures["extra successes refunded once"]


def test_an_extra_success_never_refunded_is_broken():
    verdict = judge(
        [order(payments=TWO_PAID)], Ledger({"t1": 100, "t2": 100}, {}), OK_ANSWERS, CLOCK
    )

    assert "t2 an extra success never refunded" in verdict.violations
    assert any(v.startswith("money not conserved") for v in verdict.violations)


def test_an_extra_success_refunded_twice_is_broken():
    verdict = judge(
        [order(payments=TWO_PAID)],
        Ledger({"t1": 100, "t2": 100}, {"t2": [50, 50]}),
        OK_ANSWERS,
        CLOCK,
    )

    assert "t2 refunded 2 times" in verdict.violations


def test_a_refund_above_what_was_paid_is_broken():
    verdict = judge([order()], Ledger({"t1": 100}, {"t1": [150]}), OK_ANSWERS, CLOCK)

    assert "t1 refunded 150, above what was paid" in verdict.violations


def test_a_refund_of_a_trade_that_took_nothing_is_broken():
    payments = (("pay_1", "t1", "SUCCEEDED"), ("pay_2", "t2", "CLOSED"))
    verdict = judge(
        [order(payments=payments)], Ledger({"t1": 100}, {"t2": [100]}), OK_ANSWERS, CLOCK
    )

    assert "t2 refunded, above what was paid (nothing)" in verdict.violations


def test_a_capture_on_an_order_that_is_not_paid_is_a_lost_order():
    lost = order(status="CLOSED", payments=(("pay_1", "t1", "CLOSED"),))
    verdict = judge([lost], Ledger({"t1": 100}, {}), OK_ANSWERS, CLOCK)

    assert "ord_1 paid at the channel but lost (CLOSED)" in verdict.violations


def test_a_closed_order_whose_capture_was_refunded_holds():
    closed = order(status="CLOSED", payments=(("pay_1", "t1", "SUCCEEDED"),))
    verdict = judge([closed], Ledger({"t1": 100}, {"t1": [100]}), OK_ANSWERS, CLOCK)

    assert verdict.holds, verdict.violations


def test_anything_left_open_is_broken():
    waiting = order(
        status="PAYING",
        payments=(("pay_1", "t1", "PAYING"),),
        refunds=(("re_1", "PROCESSING"),),
    )
    verdict = judge([waiting], Ledger({}, {}), OK_ANSWERS, CLOCK)

    assert "ord_1 left open (PAYING)" in verdict.violations
    assert "t1 left open (PAYING)" in verdict.violations
    assert "re_1 unfinished (PROCESSING)" in verdict.violations


def test_every_5xx_is_broken_but_the_apis_channel_unavailable():
    ledger = Ledger({"t1": 100}, {})

    assert judge([order()], ledger, {"ok": 5, "channel down": 3}, CLOCK).holds
    broken = judge([order()], ledger, {"ok": 5, "error": 1, "unanswered": 1}, CLOCK)
    assert (
        "2 answers were a 5xx, or none, other than the API's 503 channel_unavailable"
        in broken.violations
    )


def test_a_callback_answered_5xx_or_not_at_all_is_broken():
    ledger = Ledger({"t1": 100}, {})

    assert judge([order()], ledger, {"ok": 5, "callback ok": 4}, CLOCK).holds
    broken = judge([order()], ledger, {"ok": 5, "callback ok": 3, "callback error": 1}, CLOCK)
    assert "1 callbacks were answered 5xx, or not at all" in broken.violations


@pytest.mark.parametrize(
    "status, headers, body, kind",
    [
        (200, {}, {}, "ok"),
        (409, {}, {"error": {"code": "order_paid"}}, "ok"),
        (503, {"Retry-After": "5"}, {"error": {"code": "channel_unavailable"}}, "channel down"),
        # our own outage (Redis, the database, a backlogged queue) is a failure under chaos
        (503, {"Retry-After": "5"}, {"error": {"code": "service_unavailable"}}, "error"),
        (503, {}, {"error": {"code": "channel_unavailable"}}, "error"),
        (503, {"Retry-After": "5"}, None, "error"),  # the checkout's "try again" page
        (500, {}, {"error": {"code": "internal_error"}}, "error"),
        (502, {}, None, "error"),
    ],
)
def test_each_answer_is_counted_by_what_it_says(status, headers, body, kind):
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = json.dumps(body).encode() if body is not None else b"<html>"

    assert answer_kind(response) == kind


def test_no_answer_at_all_is_a_failure_too():
    answers = Answers()
    answers.record("GET /api/v1/orders", None)

    assert answers.counts == {"unanswered": 1}
    assert answers.errors == ["GET /api/v1/orders: no answer"]


def test_the_statement_counts_only_the_runs_trades():
    lines = [
        {"type": "payment", "out_trade_no": "t1", "amount": "100"},
        {"type": "refund", "out_trade_no": "t1", "amount": "40"},
        {"type": "payment", "out_trade_no": "someone-else", "amount": "999"},
    ]

    ledger = Ledger.from_lines(lines, {"t1"})

    assert ledger == Ledger({"t1": 100}, {"t1": [40]})


def test_an_open_attempt_that_took_no_money_waits_for_its_deadline_then_is_broken():
    # given a paid order whose first attempt never reached the channel (its create timed out)
    never_created = (("pay_1", "t1", "SUCCEEDED"), ("pay_2", "t2", "UNPAID"))
    ledger = Ledger({"t1": 100}, {})

    # before the order's expiry plus the clock skew, its fate cannot be known yet
    early = order(payments=never_created, expires_at=NOW - timedelta(minutes=1))
    waiting = judge([early], ledger, OK_ANSWERS, CLOCK)
    assert waiting.holds, waiting.violations
    assert waiting.undecidable == [
        "t2 open, took no money: decidable after 2026-12-01 12:01:00 UTC"
        " (judge it again then: --check-only)"
    ]
    # after it, an attempt still open is left open
    late = order(payments=never_created, expires_at=NOW - timedelta(minutes=3))
    assert "t2 left open (UNPAID)" in judge([late], ledger, OK_ANSWERS, CLOCK).violations


def test_an_open_attempt_that_took_money_or_of_an_open_order_is_broken_at_once():
    soon = NOW + timedelta(minutes=10)
    took_money = order(
        payments=(("pay_1", "t1", "SUCCEEDED"), ("pay_2", "t2", "PAYING")), expires_at=soon
    )
    open_order = order(status="PAYING", payments=(("pay_1", "t1", "PAYING"),), expires_at=soon)

    assert (
        "t2 left open (PAYING)"
        in judge(
            [took_money], Ledger({"t1": 100, "t2": 100}, {"t2": [100]}), OK_ANSWERS, CLOCK
        ).violations
    )
    assert (
        "t1 left open (PAYING)" in judge([open_order], Ledger({}, {}), OK_ANSWERS, CLOCK).violations
    )
