"""Fault injection: validation, API errors, timeouts, latency, hangs and bad answers, stale
queries, unknown closes, late pay, lazy trades."""

import time

import pytest
import requests

from sandbox_channel.bad_answers import SHAPES


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
        "api_latency_ms": [0, 5],
        "api_hang_rate": {"close": 0.5},
        "hang_long_ms": 100,
        "refund_async": True,
        "refund_async_ms": 200,
        "refund_conflict_rate": 0.5,
        "lazy_trades": False,
        "bad_answer_rate": {"query": 0.1, "refund": 1},
        "notify_amount_tamper_rate": 0.2,
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
    {"api_latency_ms": [10]},
    {"api_latency_ms": [20, 10]},
    {"api_latency_ms": 10},
    {"api_hang_rate": 0.5},
    {"api_hang_rate": {"pay": 1}},
    {"hang_long_ms": 600_001},
    {"refund_async": 1},
    {"refund_async_ms": "3000"},
    {"refund_conflict_rate": 2},
    {"lazy_trades": "yes"},
    {"bad_answer_rate": {"query": 1.5}},
    {"bad_answer_rate": {"wallet": 0.5}},
    {"notify_amount_tamper_rate": -1},
    [],
]


def test_bad_faults_are_rejected_naming_the_key_and_change_nothing(sandbox):
    sandbox.set_faults({"notify_drop": 0.25})

    for faults in BAD_FAULTS:
        response = sandbox.request("POST", "/v1/faults", json=faults)

        assert response.status_code == 400, faults
        error = response.json()["error"]
        assert error["code"] == "INVALID_REQUEST", faults
        for key in faults if isinstance(faults, dict) else ():
            assert key in error["message"], faults
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


def test_api_latency_delays_every_api_answer_but_not_the_buyer(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    sandbox.pay("pay_001")
    sandbox.set_faults({"api_latency_ms": [3000, 3000]})
    today = time.strftime("%Y-%m-%d", time.gmtime())
    api_calls = [
        ("GET", "/v1/trades/pay_001"),
        ("POST", "/v1/trades/pay_001/close"),
        ("GET", "/v1/refunds/re_none"),
        ("GET", f"/v1/statements/{today}"),
    ]

    for method, path in api_calls:
        with pytest.raises(requests.exceptions.ReadTimeout):
            sandbox.request(method, path, timeout=0.5)
    slow = sandbox.request("GET", "/v1/trades/pay_001", timeout=10)
    create_trade(sandbox, "pay_002", expire_in=600)
    # Buyer, wallet and test doors answer at once.
    unfaulted = sandbox.request("POST", "/v1/trades/pay_002/pay", json={}, timeout=2.5)

    assert slow.status_code == 200
    assert slow.json()["status"] == "SUCCESS"
    assert unfaulted.status_code == 200


def test_an_api_hang_outlasts_the_caller_then_answers_normally_having_done_the_work(
    sandbox, create_trade
):
    sandbox.set_faults({"api_hang_rate": {"create": 1}, "hang_long_ms": 1500})

    with pytest.raises(requests.exceptions.ReadTimeout):
        create_trade(sandbox, "pay_001", timeout=0.5)
    patient = create_trade(sandbox, "pay_002")

    assert patient.status_code == 200
    assert patient.json()["status"] == "WAITING"
    sandbox.reset_faults()
    assert sandbox.trade("pay_001")["status"] == "WAITING"
    assert sandbox.trade("pay_002") == patient.json()


def shape_of(response: requests.Response, asked: str) -> str:
    """Which bad_answers shape an answer has, or "well_formed" for a trade answer one can use."""
    assert response.status_code == 200
    try:
        body = response.json()
    except ValueError:
        return "not_json"
    if isinstance(body, list):
        return "json_array"
    if "status" not in body:
        return "missing_status"
    if not isinstance(body.get("amount"), int):
        return "amount_as_text"
    if body.get("out_trade_no") != asked:
        return "other_out_trade_no"
    if body["status"] not in ("WAITING", "SUCCESS", "CLOSED"):
        return "unknown_status"
    return "well_formed"


def test_bad_answers_are_200s_of_every_wrong_shape(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    sandbox.pay("pay_001")

    def shapes_seen():
        sandbox.set_faults({"bad_answer_rate": {"query": 1}, "api_latency_ms": [0, 1], "seed": 11})
        return [
            shape_of(sandbox.request("GET", "/v1/trades/pay_001"), "pay_001") for _ in range(60)
        ]

    shapes = shapes_seen()

    assert set(shapes) == set(SHAPES)
    assert shapes_seen() == shapes  # latency and shapes come from the one seeded generator
    sandbox.reset_faults()
    assert shape_of(sandbox.request("GET", "/v1/trades/pay_001"), "pay_001") == "well_formed"


def test_a_bad_answer_to_create_did_the_work_half_of_the_time(sandbox, create_trade):
    sandbox.set_faults({"bad_answer_rate": {"create": 1}, "seed": 5})

    shapes = [shape_of(create_trade(sandbox, f"pay_{n}"), f"pay_{n}") for n in range(20)]

    assert "well_formed" not in shapes
    sandbox.reset_faults()
    created = [sandbox.request("GET", f"/v1/trades/pay_{n}").status_code == 200 for n in range(20)]
    assert 0 < sum(created) < 20


def test_a_lazy_trade_is_not_found_until_the_buyer_opens_it(sandbox, create_trade):
    sandbox.set_faults({"lazy_trades": True})
    created = create_trade(sandbox, "pay_001")

    query = sandbox.request("GET", "/v1/trades/pay_001")
    close = sandbox.request("POST", "/v1/trades/pay_001/close")
    body = {"out_trade_no": "pay_001", "out_refund_no": "re_001", "amount": 1}
    refund = sandbox.request("POST", "/v1/refunds", json=body)
    sandbox.reset_faults()  # the trade was created lazy and stays so
    still_missing = sandbox.request("GET", "/v1/trades/pay_001")
    wallet = sandbox.request("GET", f"/wallet/{created.json()['trade_no']}")

    assert created.status_code == 200
    assert created.json()["status"] == "WAITING"
    assert created.json()["qr_content"] == created.json()["pay_url"]
    for response in (query, close, refund, still_missing):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "TRADE_NOT_FOUND"
    assert 'id="pay-button"' in wallet.text
    assert sandbox.trade("pay_001") == created.json()


def test_a_lazy_trade_stays_payable_after_a_close_that_did_not_find_it(
    sandbox, create_trade, receiver
):
    sandbox.set_faults({"lazy_trades": True})
    create_trade(sandbox, "pay_001")
    create_trade(sandbox, "pay_002", expire_in=0.5)

    not_found = sandbox.request("POST", "/v1/trades/pay_001/close")
    paid = sandbox.pay("pay_001")
    time.sleep(0.6)
    expired = sandbox.pay("pay_002")

    assert not_found.status_code == 404
    assert paid.status_code == 200
    assert sandbox.trade("pay_001")["status"] == "SUCCESS"
    assert receiver.wait_for(1)[0].payload["out_trade_no"] == "pay_001"
    assert expired.status_code == 409
    assert expired.json()["error"]["code"] == "TRADE_NOT_PAYABLE"
    assert sandbox.request("GET", "/v1/trades/pay_002").status_code == 404
