"""The read-only ledger door: what the emulator took and gave back, for checks that judge
Paycenter against the channel's own records (manage.py chaos)."""

import time

from tests.channel_servers import emulator_ledger as ledger

from .conftest import new_out_trade_no


def test_the_ledger_lists_captures_and_succeeded_refunds_since_a_time(native_order, emulator):
    # given a trade from before, and since then a paid, a refunded and an unpaid trade
    earlier, _, _ = native_order(total=50)
    emulator.pay(earlier)
    time.sleep(0.01)
    since = time.time()
    paid, _, _ = native_order(total=100)
    refunded, _, _ = native_order(total=200)
    unpaid, _, _ = native_order(total=300)
    for out_trade_no in (paid, refunded):
        assert emulator.pay(out_trade_no).status_code == 200
    out_refund_no = new_out_trade_no("R")
    refund = emulator.request(
        "POST", f"/_emulator/refund/{refunded}", json={"amount": 80, "out_refund_no": out_refund_no}
    )
    assert refund.status_code == 200, refund.text

    # when the ledger since then is read
    lines = ledger(emulator, since)

    # then it has both captures (the refunded one too) and the refund, nothing else
    assert [(line["type"], line["out_trade_no"], line["amount"]) for line in lines] == [
        ("payment", paid, 100),
        ("payment", refunded, 200),
        ("refund", refunded, 80),
    ]
    assert lines[2]["out_refund_no"] == out_refund_no
    assert unpaid not in {line["out_trade_no"] for line in lines}
    assert earlier in {line["out_trade_no"] for line in ledger(emulator, 0)}


def test_the_ledger_refuses_a_since_that_is_no_time(emulator):
    for since in ("yesterday", "nan", "inf"):
        answer = emulator.request("GET", "/_emulator/ledger", params={"since": since})
        assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR")
