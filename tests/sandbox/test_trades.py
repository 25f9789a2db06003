"""Trades: create (idempotent), query, close, pay, and expiry at time_expire."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest


def test_healthz_answers_ok(sandbox):
    response = sandbox.request("GET", "/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_new_trade_is_waiting_with_a_wallet_url(sandbox, create_trade):
    response = create_trade(sandbox, "pay_001", amount=1234, return_url="http://shop.test/back")

    assert response.status_code == 200
    trade = response.json()
    assert trade["status"] == "WAITING"
    assert (trade["out_trade_no"], trade["channel"], trade["amount"], trade["currency"]) == (
        "pay_001",
        "sandbox",
        1234,
        "CNY",
    )
    assert trade["paid_at"] is None
    assert trade["refunded_amount"] == 0
    assert re.fullmatch(r"SBX\d{24}", trade["trade_no"])
    assert trade["qr_content"] == trade["pay_url"] == f"{sandbox.url}/wallet/{trade['trade_no']}"
    assert trade["created_at"].endswith("+00:00")
    assert sandbox.trade("pay_001") == trade


def test_creating_the_same_trade_again_returns_the_existing_one(sandbox, create_trade):
    first = create_trade(sandbox, "pay_001").json()

    again = create_trade(sandbox, "pay_001", subject="Another subject")

    assert again.status_code == 200
    assert again.json() == first


@pytest.mark.parametrize(
    "change", [{"amount": 999}, {"currency": "USD"}, {"channel": "sandbox_card"}]
)
def test_reusing_an_out_trade_no_with_other_terms_conflicts(sandbox, create_trade, change):
    first = create_trade(sandbox, "pay_001").json()

    response = create_trade(sandbox, "pay_001", **change)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "OUT_TRADE_NO_CONFLICT"
    assert sandbox.trade("pay_001") == first


def test_an_unknown_channel_is_rejected(sandbox, create_trade):
    response = create_trade(sandbox, "pay_001", channel="alipay")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UNKNOWN_CHANNEL"


BAD_FIELDS = [
    {"amount": 0},
    {"amount": -5},
    {"amount": 1.5},
    {"amount": "100"},
    {"amount": True},
    {"amount": None},
    {"currency": "cny"},
    {"currency": "CN"},
    {"out_trade_no": "a/b"},
    {"out_trade_no": ""},
    {"out_trade_no": "x" * 65},
    {"out_trade_no": 42},
    {"subject": ""},
    {"subject": ["tea"]},
    {"notify_url": "ftp://merchant.test/cb"},
    {"notify_url": "not a url"},
    {"notify_url": None},
    {"return_url": "javascript:alert(1)"},
    {"time_expire": "2030-01-01T00:00:00"},
    {"time_expire": "tomorrow"},
    {"time_expire": 1893456000},
    {"time_expire": "2020-01-01T00:00:00+00:00"},
]


def test_bad_fields_are_a_400_never_a_500(sandbox, create_trade):
    for number, change in enumerate(BAD_FIELDS):
        response = create_trade(sandbox, f"pay_{number}", **change)

        assert response.status_code == 400, change
        assert response.json()["error"]["code"] == "INVALID_REQUEST", change
    assert sandbox.request("GET", "/v1/trades/pay_0").status_code == 404


def test_malformed_json_is_a_400_never_a_500(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    headers = {"Content-Type": "application/json"}

    for body in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"):
        for path in ("/v1/trades", "/v1/refunds", "/v1/faults", "/v1/trades/pay_001/pay"):
            response = sandbox.request("POST", path, data=body, headers=headers)

            assert response.status_code == 400, (path, body)
            assert response.json()["error"]["code"] == "INVALID_REQUEST", (path, body)
    assert sandbox.trade("pay_001")["status"] == "WAITING"


def test_unknown_paths_and_methods_answer_json_errors(sandbox):
    missing = sandbox.request("GET", "/v2/nothing")
    wrong_method = sandbox.request("DELETE", "/v1/trades")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_paying_makes_the_trade_successful_once(sandbox, create_trade):
    create_trade(sandbox, "pay_001")

    paid = sandbox.pay("pay_001")
    again = sandbox.pay("pay_001")

    assert paid.status_code == 200
    assert paid.json()["status"] == "SUCCESS"
    assert paid.json()["paid_at"] is not None
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "TRADE_ALREADY_PAID"
    assert sandbox.trade("pay_001")["paid_at"] == paid.json()["paid_at"]


def test_closing_a_paid_trade_answers_success_and_changes_nothing(sandbox, create_trade):
    create_trade(sandbox, "pay_001")
    sandbox.pay("pay_001")

    response = sandbox.request("POST", "/v1/trades/pay_001/close")

    assert response.status_code == 200
    assert response.json()["status"] == "SUCCESS"
    assert sandbox.trade("pay_001")["status"] == "SUCCESS"


def test_a_closed_trade_cannot_be_paid(sandbox, create_trade):
    create_trade(sandbox, "pay_001")

    closed = sandbox.request("POST", "/v1/trades/pay_001/close")
    closed_again = sandbox.request("POST", "/v1/trades/pay_001/close")
    paid = sandbox.pay("pay_001")

    assert closed.json()["status"] == "CLOSED"
    assert closed_again.json()["status"] == "CLOSED"
    assert paid.status_code == 409
    assert paid.json()["error"]["code"] == "TRADE_NOT_PAYABLE"
    assert sandbox.trade("pay_001")["status"] == "CLOSED"
    assert sandbox.notifications("pay_001") == []


def test_unknown_trades_are_404(sandbox):
    for method, path in [
        ("GET", "/v1/trades/nope"),
        ("POST", "/v1/trades/nope/close"),
        ("POST", "/v1/trades/nope/pay"),
    ]:
        response = sandbox.request(method, path)

        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "TRADE_NOT_FOUND", path


def test_a_trade_closes_itself_at_time_expire(sandbox, create_trade):
    create_trade(sandbox, "pay_001", expire_in=1)
    assert sandbox.trade("pay_001")["status"] == "WAITING"

    time.sleep(1.1)

    assert sandbox.trade("pay_001")["status"] == "CLOSED"
    paid = sandbox.pay("pay_001")
    assert paid.status_code == 409
    assert paid.json()["error"]["code"] == "TRADE_NOT_PAYABLE"
    # Re-creating an expired trade returns it as it is rather than reviving it.
    assert create_trade(sandbox, "pay_001", expire_in=1).json()["status"] == "CLOSED"


def test_racing_buyers_pay_a_trade_exactly_once(sandbox, create_trade, receiver):
    create_trade(sandbox, "pay_001")

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: sandbox.pay("pay_001").status_code, range(10)))

    assert sorted(answers) == [200] + [409] * 9
    receiver.wait_for(1)
    assert len({attempt["notify_id"] for attempt in sandbox.notifications("pay_001")}) <= 1


def test_racing_creates_make_one_trade(sandbox, create_trade):
    with ThreadPoolExecutor(10) as pool:
        trades = list(pool.map(lambda _: create_trade(sandbox, "pay_001").json(), range(10)))

    assert len({trade["trade_no"] for trade in trades}) == 1
