"""The read-only ledger door: what the emulator took and gave back, for checks that judge
Paycenter against the channel's own records (manage.py chaos)."""

import time

from tests.channel_servers import emulator_ledger as ledger

from .conftest import new_out_trade_no


def test_the_ledger_lists_captures_and_refunds_since_a_time(paid, precreate, alipay, emulator):
    # given a trade from before, and since then a paid, a refunded in full and an unpaid trade
    earlier = paid("0.50")
    time.sleep(0.01)
    since = time.time()
    kept = paid("1.00")
    refunded = paid("2.00")
    unpaid, _ = precreate(total_amount="3.00")
    out_refund_no = new_out_trade_no("R")
    answer = alipay.api_alipay_trade_refund(
        "2.00", out_trade_no=refunded, out_request_no=out_refund_no
    )
    assert answer["code"] == "10000", answer

    # when the ledger since then is read
    lines = ledger(emulator, since)

    # then it has both captures (the one refunded in full, now closed, too) and the refund
    assert [(line["type"], line["out_trade_no"], line["amount"]) for line in lines] == [
        ("payment", kept, 100),
        ("payment", refunded, 200),
        ("refund", refunded, 200),
    ]
    assert lines[2]["out_refund_no"] == out_refund_no
    assert unpaid not in {line["out_trade_no"] for line in lines}
    assert earlier in {line["out_trade_no"] for line in ledger(emulator, 0)}


def test_the_ledger_refuses_a_since_that_is_no_time(emulator):
    for since in ("yesterday", "nan", "inf"):
        answer = emulator.request("GET", "/_emulator/ledger", params={"since": since})
        assert (answer.status_code, answer.json()["code"]) == (400, "ACQ.INVALID_PARAMETER")
