"""Notifications: signed, retried on the schedule until acknowledged, and the notify faults."""

import json
import re
import socket
import time


def test_a_payment_is_notified_signed(sandbox, create_trade, receiver, eventually):
    trade = create_trade(sandbox, "pay_001", amount=1234).json()

    paid = sandbox.pay("pay_001").json()
    [notification] = receiver.wait_for(1)

    assert notification.signature_ok
    headers = notification.headers
    assert headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Sandbox-Nonce"])
    assert abs(int(headers["X-Sandbox-Timestamp"]) - time.time()) < 5
    payload = notification.payload
    assert payload == {
        "notify_id": payload["notify_id"],
        "event": "trade.success",
        "type": "trade",
        "channel": "sandbox",
        "trade_no": trade["trade_no"],
        "out_trade_no": "pay_001",
        "status": "SUCCESS",
        "amount": 1234,
        "currency": "CNY",
        "paid_at": paid["paid_at"],
    }
    # The merchant's answer is recorded just after it is received.
    [attempt] = eventually(lambda: sandbox.notifications("pay_001"))
    assert (attempt["attempt"], attempt["status"], attempt["http_status"]) == (1, "delivered", 200)
    assert (attempt["url"], attempt["notify_id"]) == (receiver.url, payload["notify_id"])


def test_a_notification_is_retried_until_the_merchant_answers_success(
    sandbox, create_trade, receiver, eventually
):
    receiver.answer_with((500, "oops"), (200, "received"))
    create_trade(sandbox, "pay_001")

    sandbox.pay("pay_001")
    received = receiver.wait_for(3)
    attempts = eventually(lambda: [a for a in sandbox.notifications() if a["attempt"] == 3])

    assert len(received) == 3
    assert all(notification.signature_ok for notification in received)
    assert len({notification.body for notification in received}) == 1  # same notify_id each time
    assert len({notification.headers["X-Sandbox-Nonce"] for notification in received}) == 3
    assert attempts[0]["status"] == "delivered"
    summary = [(a["attempt"], a["status"], a["http_status"]) for a in sandbox.notifications()]
    assert summary == [(1, "sent", 500), (2, "sent", 200), (3, "delivered", 200)]
    assert sandbox.notifications()[0]["response_body"] == "oops"
    time.sleep(0.3)
    assert len(receiver.received) == 3


def test_a_notification_is_abandoned_when_the_schedule_runs_out(
    start_sandbox, create_trade, eventually
):
    sandbox = start_sandbox(notify_schedule=(0, 0.1, 0.1))
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    create_trade(sandbox, "pay_001", notify_url=f"http://127.0.0.1:{closed_port}/cb")

    sandbox.pay("pay_001")
    attempts = eventually(lambda: len(sandbox.notifications()) == 3 and sandbox.notifications())
    time.sleep(0.3)

    assert [(a["attempt"], a["status"]) for a in attempts] == [(n, "failed") for n in (1, 2, 3)]
    assert len(sandbox.notifications()) == 3


def test_dropped_notifications_never_arrive(start_sandbox, create_trade, receiver, eventually):
    sandbox = start_sandbox(notify_schedule=(0, 0.1, 0.1))
    sandbox.set_faults({"notify_drop": 1})
    create_trade(sandbox, "pay_001")

    sandbox.pay("pay_001")
    attempts = eventually(lambda: len(sandbox.notifications()) == 3 and sandbox.notifications())
    time.sleep(0.3)

    assert [(a["attempt"], a["status"]) for a in attempts] == [(n, "dropped") for n in (1, 2, 3)]
    assert len(sandbox.notifications()) == 3
    assert receiver.received == []


def test_a_duplicated_notification_arrives_twice_with_fresh_nonces(
    sandbox, create_trade, receiver, eventually
):
    sandbox.set_faults({"notify_duplicate": 1})
    create_trade(sandbox, "pay_001")

    sandbox.pay("pay_001")
    received = receiver.wait_for(2)
    attempts = eventually(lambda: len(sandbox.notifications()) == 2 and sandbox.notifications())
    time.sleep(0.3)

    assert len(received) == 2
    assert all(notification.signature_ok for notification in received)
    assert received[0].body == received[1].body
    assert received[0].headers["X-Sandbox-Nonce"] != received[1].headers["X-Sandbox-Nonce"]
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "delivered"), (1, "delivered")]
    assert len(receiver.received) == 2  # delivered: no further attempts


def test_a_delayed_notification_arrives_late(sandbox, create_trade, receiver):
    sandbox.set_faults({"notify_delay_ms": [400, 400]})
    create_trade(sandbox, "pay_001")

    paid_at = time.monotonic()
    sandbox.pay("pay_001")
    assert receiver.wait_for(1, timeout=0.3) == []
    receiver.wait_for(1)

    assert time.monotonic() - paid_at >= 0.4
    assert len(receiver.received) == 1


def test_reordered_notifications_arrive_shuffled(sandbox, create_trade, receiver):
    sandbox.set_faults({"notify_reorder": True, "reorder_window_ms": 500, "seed": 7})
    paid_order = [f"pay_{n}" for n in range(6)]
    for out_trade_no in paid_order:
        create_trade(sandbox, out_trade_no)

    for out_trade_no in paid_order:
        sandbox.pay(out_trade_no)
    received = receiver.wait_for(6)

    arrival_order = [json.loads(notification.body)["out_trade_no"] for notification in received]
    assert sorted(arrival_order) == paid_order
    assert arrival_order != paid_order


def test_a_tampered_notification_is_signed_but_reports_another_amount(
    sandbox, create_trade, receiver
):
    sandbox.set_faults({"notify_amount_tamper_rate": 1, "notify_duplicate": 1, "seed": 3})
    create_trade(sandbox, "pay_001", amount=1000)

    paid = sandbox.pay("pay_001").json()
    received = receiver.wait_for(2)

    assert len(received) == 2
    for notification in received:
        assert notification.signature_ok
        payload = notification.payload
        assert isinstance(payload["amount"], int)
        assert payload["amount"] > 0
        assert payload["amount"] != 1000
        assert (payload["out_trade_no"], payload["status"]) == ("pay_001", "SUCCESS")
        assert payload["paid_at"] == paid["paid_at"]
    assert sandbox.trade("pay_001")["amount"] == 1000
