"""Fault injection: validation, API errors and timeouts, stale queries, unknown closes, late pay."""

import time

import pytest
import requests


def test_faults_are_shown_replaced_whole_and_reset(sandbox):
    faults = {
        "notify_drop": 0.5,
        "notify_duplicate": 0,
        "notify_delay_ms": [10, 20],
        "notify_reorder": True,
        "reorder_window_ms": 100,
        "api_error_rate": {"create": 0.1, "statement": 1},
        "api_timeout_rate": {"refund_query": 0.2},
        "query_stale_rate": 0.3,
        "close_unknown_rate": 1,
        "pay_after_expire": False,
        "seed": 42,
        "hang_ms": 50,
    }

    assert sandbox.set_faults(faults) == faults
    assert sandbox.request("GET", "/v1/faults").json() == faults
    assert sandbox.set_faults({"notify_drop": 1}) == {"notify_drop": 1}
    assert sandbox.reset_faults() == {}
    assert sandbox.request("GET", "/v1/faults").json() == {}


BAD_FAULTS = [
    {"notify_explode": 1},
    {"notify_drop": 1.5},
    {"notify_drop": -0.1},
    {"notify_drop": "0.5"},
    {"notify_drop": True},
    {"notify_reorder": 1},
    {"pay_after_expire": "yes"},
    {"notify_delay_ms": [5]},
    {"notify_delay_ms": [20, 10]},
    {"notify_delay_ms": [-1, 10]},
    {"api_error_rate": 0.5},
    {"api_error_rate": {"pay": 0.5}},
    {"api_timeout_rate": {"create": 2}},
    {"seed": "abc"},
    {"hang_ms": 1.5},
    {"reorder_window_ms": -1},
    [],
]


def test_bad_faults_are_rejected_and_change_nothing(sandbox):
    sandbox.set_faults({"notify_drop": 0.25})

    for faults in BAD_FAULTS:
        response = sandbox.request("POST", "/v1/faults", json=faults)

        assert response.status_code == 400, faults
        assert response.json()["error"]["code"] == "INVALID_REQUEST", faults
    assert sandbox.request("GET", "/v1/faults").json() == {"notify_drop": 0.25}


def test_an_api_error_answers_503_without_doing_the_work(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    sandbox.set_faults({"api_error_rate": {"create": 1, "close": 1}})

    created = create_trade(sandbox, "pay_002")
    closed = sandbox.request("POST", "/v1/trades/pay_001/close")

    for response in (created, closed):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SYSTEM_ERROR"
    sandbox.reset_faults()
    assert sandbox.request("GET", "/v1/trades/pay_002").status_code == 404
    assert sandbox.trade("pay_001")["status"] == "WAITING"


def test_an_api_timeout_hangs_then_answers_504_having_done_the_work_or_not(sandbox, create_trade):
    sandbox.set_faults({"api_timeout_rate": {"create": 1}, "hang_ms": 100, "seed": 3})

    started = time.monotonic()
    answers = [create_trade(sandbox, f"pay_{n}").status_code for n in range(10)]
    elapsed = time.monotonic() - started

    assert answers == [504] * 10
    assert elapsed >= 10 * 0.1
    sandbox.reset_faults()
    created = [sandbox.request("GET", f"/v1/trades/pay_{n}").status_code == 200 for n in range(10)]
    assert 0 < sum(created) < 10


def test_a_caller_that_times_out_gets_nothing_but_the_channel_lives_on(sandbox, create_trade):
    sandbox.set_faults({"api_timeout_rate": {"query": 1}, "hang_ms": 1000})
    create_trade(sandbox, "pay_001")

    with pytest.raises(requests.exceptions.ReadTimeout):
        sandbox.request("GET", "/v1/trades/pay_001", timeout=0.2)

    sandbox.reset_faults()
    assert sandbox.trade("pay_001")["status"] == "WAITING"


def test_a_stale_query_shows_a_paid_trade_as_waiting(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    sandbox.pay("pay_001")
    sandbox.set_faults({"query_stale_rate": 1})

    stale = sandbox.trade("pay_001")
    sandbox.reset_faults()
    fresh = sandbox.trade("pay_001")

    assert (stale["status"], stale["paid_at"]) == ("WAITING", None)
    assert fresh["status"] == "SUCCESS"
    assert fresh["paid_at"] is not None


def test_an_unknown_close_result_leaves_the_trade_payable(sandbox, create_trade, receiver):
    create_trade(sandbox, "pay_001")
    sandbox.set_faults({"close_unknown_rate": 1})

    closed = sandbox.request("POST", "/v1/trades/pay_001/close")

    assert closed.status_code == 200
    assert closed.json() == {"status": "UNKNOWN"}
    assert sandbox.trade("pay_001")["status"] == "WAITING"
    assert sandbox.pay("pay_001").status_code == 200
    assert receiver.wait_for(1)[0].payload["out_trade_no"] == "pay_001"


def test_pay_after_expire_lets_a_closed_trade_be_paid(sandbox, create_trade, receiver):
    create_trade(sandbox, "pay_001")
    assert sandbox.request("POST", "/v1/trades/pay_001/close").json()["status"] == "CLOSED"
    sandbox.set_faults({"pay_after_expire": True})

    paid = sandbox.pay("pay_001")

    assert paid.status_code == 200
    assert sandbox.trade("pay_001")["status"] == "SUCCESS"
    assert receiver.wait_for(1)[0].payload["status"] == "SUCCESS"


def test_pay_after_expire_lets_an_expired_trade_be_paid(sandbox, create_trade):
    create_trade(sandbox, "pay_001", expire_in=0.3)
    sandbox.set_faults({"pay_after_expire": True})
    time.sleep(0.4)

    assert sandbox.trade("pay_001")["status"] == "CLOSED"
    assert sandbox.pay("pay_001").status_code == 200
    assert sandbox.trade("pay_001")["status"] == "SUCCESS"


def test_a_seed_makes_the_random_choices_repeat(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    sandbox.pay("pay_001")

    def statuses():
        sandbox.set_faults({"query_stale_rate": 0.5, "seed": 1234})
        return [sandbox.trade("pay_001")["status"] for _ in range(20)]

    first = statuses()

    assert statuses() == first
    assert set(first) == {"WAITING", "SUCCESS"}
