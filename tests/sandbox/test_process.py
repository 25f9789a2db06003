"""The sandbox as a process: clean shutdown, crash and restart with its storage intact."""

import sqlite3

import pytest

from sandbox_channel.runner import SandboxProcess


def test_sigterm_shuts_down_cleanly(start_sandbox):
    sandbox = start_sandbox()

    assert sandbox.stop() == 0
    assert not sandbox.running
    assert "sandbox channel stopped" in sandbox.log_tail()


def test_trades_refunds_and_pending_notifications_survive_a_crash(
    start_sandbox, create_trade, receiver, eventually
):
    sandbox = start_sandbox(notify_schedule=(0, 0.5, 0.5))
    receiver.answer_with((503, "busy"))
    create_trade(sandbox, "pay_001")
    create_trade(sandbox, "pay_002")
    sandbox.pay("pay_001")
    body = {"out_trade_no": "pay_001", "out_refund_no": "re_001", "amount": 100}
    refund = sandbox.request("POST", "/v1/refunds", json=body).json()
    receiver.wait_for(1)
    before = (sandbox.trade("pay_001"), sandbox.trade("pay_002"))
    url = sandbox.url

    sandbox.kill()
    sandbox.start()

    assert sandbox.url == url
    assert (sandbox.trade("pay_001"), sandbox.trade("pay_002")) == before
    assert sandbox.refund("re_001") == refund
    # The notification the merchant refused before the crash is delivered after it.
    assert eventually(
        lambda: any(a["status"] == "delivered" for a in sandbox.notifications("pay_001"))
    )
    assert receiver.received[-1].payload["out_trade_no"] == "pay_001"


def test_an_async_refund_is_notified_after_a_crash_before_it_settled(
    start_sandbox, create_trade, receiver
):
    sandbox = start_sandbox()
    create_trade(sandbox, "pay_001")
    sandbox.pay("pay_001")
    receiver.wait_for(1)
    sandbox.set_faults({"refund_async": True, "refund_async_ms": 1000})
    body = {"out_trade_no": "pay_001", "out_refund_no": "re_001", "amount": 100}
    sandbox.request("POST", "/v1/refunds", json=body | {"notify_url": receiver.url})

    sandbox.kill()
    sandbox.start()  # faults are gone; the refund and its notification are not
    received = receiver.wait_for(2)

    assert received[1].payload["type"] == "refund"
    assert received[1].payload["out_refund_no"] == "re_001"
    assert sandbox.refund("re_001")["status"] == "SUCCESS"


def test_restart_keeps_the_url_and_the_data(start_sandbox, create_trade):
    sandbox = start_sandbox()
    create_trade(sandbox, "pay_001")
    url = sandbox.url

    sandbox.restart()

    assert sandbox.url == url
    assert sandbox.trade("pay_001")["status"] == "WAITING"


def test_a_sandbox_that_cannot_start_reports_its_log(tmp_path):
    process = SandboxProcess(tmp_path / "sandbox", channels=("Not A Code",))

    with pytest.raises(RuntimeError, match="--channels"):
        process.start()
    assert not process.running


def test_api_calls_are_logged_per_trade(sandbox):
    sandbox.request(
        "POST",
        "/v1/trades",
        json={
            "channel": "sandbox",
            "out_trade_no": "calls-1",
            "amount": 100,
            "currency": "CNY",
            "subject": "calls",
            "notify_url": "http://127.0.0.1:9/cb",
            "time_expire": "2099-01-01T00:00:00+00:00",
        },
    )
    sandbox.trade("calls-1")
    sandbox.trade("calls-1")

    assert [c["operation"] for c in sandbox.calls(key="calls-1")] == ["create", "query", "query"]
    assert len(sandbox.calls(operation="query", key="calls-1")) == 2
    assert sandbox.calls(key="nothing") == []


# The two tables as the first release wrote them, before lazy trades and refund notify URLs.
FIRST_RELEASE_TABLES = """
CREATE TABLE trades (
    trade_no TEXT PRIMARY KEY, out_trade_no TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
    status TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, subject TEXT NOT NULL,
    notify_url TEXT NOT NULL, return_url TEXT, time_expire REAL NOT NULL, created_at REAL NOT NULL,
    paid_at REAL, closed_at REAL
);
CREATE TABLE refunds (
    refund_no TEXT PRIMARY KEY, out_refund_no TEXT NOT NULL UNIQUE,
    trade_no TEXT NOT NULL REFERENCES trades (trade_no), amount INTEGER NOT NULL,
    status TEXT NOT NULL, final_status TEXT NOT NULL, created_at REAL NOT NULL,
    settles_at REAL NOT NULL, succeeded_at REAL
);
INSERT INTO trades VALUES ('SBX1', 'pay_old', 'sandbox', 'SUCCESS', 1000, 'CNY', 'Tea',
    'http://127.0.0.1:9/cb', NULL, 4102444800, 1700000000, 1700000001, NULL);
"""


def test_a_store_written_by_the_first_release_is_upgraded_on_start(start_sandbox, tmp_path):
    data_dir = tmp_path / "sandbox0"  # where start_sandbox puts its first sandbox
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "sandbox.sqlite3") as conn:
        conn.executescript(FIRST_RELEASE_TABLES)
    conn.close()

    sandbox = start_sandbox()
    body = {"out_trade_no": "pay_old", "out_refund_no": "re_old", "amount": 100}
    refund = sandbox.request("POST", "/v1/refunds", json=body | {"notify_url": "http://x.test/"})

    assert sandbox.trade("pay_old")["status"] == "SUCCESS"
    assert refund.status_code == 200
    assert refund.json()["status"] == "SUCCESS"
