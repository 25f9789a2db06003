"""The channels the system's defences are proven on — the sandbox and the WeChat Pay and Alipay
emulators — driven the same way: the buyer's doors (scan the QR, pay), the sandbox's fault keys,
and what the channel holds read back through its own adapter (no emulator has a trade helper).

A test takes the ``paying_channel`` fixture (tests/conftest.py) to run once per channel, or
``paying_channels(*codes)`` for several at once. Where the channels differ, the difference is
data here (``LAZY_QR_CHANNELS``), so a test states each channel's real behaviour instead of
skipping.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from channel_sim.runner import ChannelProcess
from orders.audit import Actor
from orders.enums import ActorKind
from payments.channels import get_channel
from payments.channels.base import Channel, RefundResultStatus, StatementLineKind, TradeStatus
from payments.models import Payment, Refund
from payments.services.refunds import UNFINISHED_REFUND_STATUSES, refund_execute

CHANNELS = ("sandbox", "wechatpay", "alipay")
# (old, new): each channel once as the attempt a customer leaves for another channel
PAIRS = tuple((code, CHANNELS[(i + 1) % len(CHANNELS)]) for i, code in enumerate(CHANNELS))
SERVER_FIXTURES = {
    "sandbox": "sandbox",
    "sandbox_card": "sandbox",
    "wechatpay": "wechatpay",
    "alipay": "alipay",
}
# Alipay's pre-created QR: the trade exists at the channel only once the buyer scans or pays
# it; before, query and close answer "not found" and the code stays payable
LAZY_QR_CHANNELS = {"alipay"}
JOB = Actor(ActorKind.SYSTEM, "tests")


@dataclass(frozen=True)
class PayingChannel:
    code: str
    server: ChannelProcess  # pay(out_trade_no), set_faults, reset_faults
    # channel code -> the adapter that asks the channel: this process's registry, or one
    # built like a running system's (tests/system.py)
    adapter_of: Callable[[str], Channel] = get_channel

    @property
    def adapter(self) -> Channel:
        return self.adapter_of(self.code)

    @property
    def lazy_qr(self) -> bool:
        return self.code in LAZY_QR_CHANNELS

    def scan(self, payment: Payment) -> requests.Response:
        """The buyer opens the QR code on a phone (a lazy trade comes to exist)."""
        return requests.get(payment.pay_action["qr_content"], timeout=10)

    def pay(self, payment: Payment) -> requests.Response:
        """The buyer pays the attempt's trade."""
        return self.server.pay(payment.out_trade_no)

    def set_faults(self, faults: dict) -> None:
        self.server.set_faults(faults)

    def reset_faults(self) -> None:
        self.server.reset_faults()

    def trade_status(self, payment: Payment) -> TradeStatus:
        return self.adapter.query_trade(payment.trade_ref).status

    def refund_result(self, refund: Refund) -> tuple[RefundResultStatus, int | None]:
        result = self.adapter.query_refund(refund.refund_ref)
        return result.status, result.amount

    def refunded(self, out_trade_no: str) -> int:
        """What went back to the buyer for this trade, by the channel's statements of yesterday
        and today (a test that runs across the channel's midnight — 16:00 UTC for China's
        channels — refunds on both days): a refund sent twice shows as two lines."""
        today = datetime.now(ZoneInfo(self.adapter.capabilities.statement.time_zone)).date()
        return sum(
            line.amount
            for day in (today - timedelta(days=1), today)
            for line in self.adapter.statement_lines(day).lines
            if line.kind == StatementLineKind.REFUND and line.out_trade_no == out_trade_no
        )


def paying_channel_named(request, code: str) -> PayingChannel:
    """The channel ``code`` registered (its server's fixture) and ready to drive."""
    return PayingChannel(code, request.getfixturevalue(SERVER_FIXTURES[code]))


def refunds_settled(refunds) -> bool:
    """Refunds a channel finishes later (WeChat Pay: always PROCESSING first) are asked again
    until each one is final."""
    unfinished = refunds.filter(status__in=UNFINISHED_REFUND_STATUSES)
    for refund_id in unfinished.values_list("pk", flat=True):
        refund_execute(refund_id=refund_id, actor=JOB)
    return not unfinished.exists()
