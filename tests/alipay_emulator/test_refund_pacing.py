"""Alipay asks for at least 3 s between refund calls on one trade; the emulator (here with a
shorter interval) answers a call that comes sooner ACQ.SYSTEM_ERROR, having done nothing."""

import time

from alipay_emulator.refunds import Refunds
from alipay_emulator.runner import EmulatorProcess
from tests import channel_servers

from .conftest import SCHEDULE

INTERVAL = 0.5

emulator = channel_servers.module_process_fixture(
    EmulatorProcess,
    "alipay-paced",
    notify_schedule=SCHEDULE,
    min_expire_seconds=1,
    refund_interval=INTERVAL,
)


def _refund(alipay, out_trade_no, amount, out_request_no):
    return alipay.api_alipay_trade_refund(
        amount, out_trade_no=out_trade_no, out_request_no=out_request_no
    )


def _not_refunded(alipay, out_trade_no, out_request_no) -> bool:
    answer = alipay.api_alipay_trade_fastpay_refund_query(out_request_no, out_trade_no=out_trade_no)
    return answer == {"code": "10000", "msg": "Success"}


def test_a_refund_call_too_soon_after_another_on_its_trade_is_refused_undone(paid, alipay):
    out_trade_no = paid("10.00")
    other_trade = paid("1.00")
    assert _refund(alipay, out_trade_no, "1.00", "first")["fund_change"] == "Y"

    too_soon = _refund(alipay, out_trade_no, "2.00", "second")
    repeated = _refund(alipay, out_trade_no, "1.00", "first")  # a retry is a refund call too

    for answer in (too_soon, repeated):
        assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.SYSTEM_ERROR")
    assert _not_refunded(alipay, out_trade_no, "second")
    # the interval is per trade: another trade's refund goes through at once
    assert _refund(alipay, other_trade, "1.00", "elsewhere")["fund_change"] == "Y"
    time.sleep(INTERVAL)
    later = _refund(alipay, out_trade_no, "2.00", "second")
    assert (later["fund_change"], later["refund_fee"]) == ("Y", "3.00")


def test_without_an_interval_calls_read_out_of_order_are_never_refused():
    """Concurrent calls read the clock before they queue for the trade: the later-served one
    may carry the earlier time. With no interval set nothing is paced (CI saw 0 - 0.001 < 0)."""
    unpaced = Refunds(store=None, keys=None, notifier=None, interval=0)
    unpaced._pace(trade_id=1, now=100.002)
    unpaced._pace(trade_id=1, now=100.001)
