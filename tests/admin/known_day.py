"""A known day on the sandbox channel, five days ago: our books as plain rows, and the channel's
statement of that day as a fixed file its adapter serves (every other day is the real sandbox's).

Reconciled, it gives every kind of line the report shows: a match, an amount the channel took
differently, a success the file lacks, a trade we never issued, our refund matched, and a
refund made in the channel's console; with fees on two lines."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from payments.channels.base import Statement, StatementLine, StatementLineKind
from payments.channels.sandbox import SandboxChannel
from payments.enums import PaymentStatus, RefundStatus
from payments.models import ChannelTransaction, Refund
from tests.admin import scenario


def known_day():
    return timezone.now().astimezone(UTC).date() - timedelta(days=5)


def at(hour: int) -> datetime:
    return datetime.combine(known_day(), datetime.min.time(), UTC) + timedelta(hours=hour)


def _line(kind, out_trade_no, amount, *, currency="CNY", hour=10, fee=None, out_refund_no=None):
    return StatementLine(
        kind=kind,
        out_trade_no=out_trade_no,
        channel_trade_no=f"SBX-{out_trade_no}",
        amount=amount,
        currency=currency,
        status="SUCCESS",
        time=at(hour),
        out_refund_no=out_refund_no,
        channel_refund_no=f"SBXR-{out_refund_no}" if out_refund_no else None,
        fee=fee,
    )


def statement_lines() -> tuple[StatementLine, ...]:
    pay, refund = StatementLineKind.PAYMENT, StatementLineKind.REFUND
    return (
        _line(pay, "KD-MATCHED", 2500, fee=15),
        _line(pay, "KD-OTHER-AMOUNT", 1200, fee=7),  # we hold 1000
        _line(pay, "KD-NEVER-ISSUED", 300),
        _line(refund, "KD-MATCHED", 200, out_refund_no="KD-R-OURS", hour=12),
        _line(refund, "KD-MATCHED", 500, out_refund_no="KD-R-CONSOLE", hour=13),
    )


# What the report must say about the day.
OURS_PAYMENTS = {"CNY": 3500, "USD": 800}
CHANNEL_PAYMENTS = {"CNY": 4000}
OURS_REFUNDS = {"CNY": 200}
CHANNEL_REFUNDS = {"CNY": 700}
CHANNEL_FEES = {"CNY": 22}
OUTCOMES = {
    "MATCHED": 2,
    "AMOUNT_MISMATCH": 1,
    "MISSING_AT_CHANNEL": 1,
    "MISSING_HERE": 1,
    "REFUND_MISSING_HERE": 1,
}
# Per currency, what the open discrepancies involve: the channel's 1200 + 300 + 500, our 800.
DISCREPANCY_MONEY = ((2000, "CNY"), (800, "USD"))


class SandboxWithAKnownDay(SandboxChannel):
    def statement_lines(self, day):
        if day != known_day():
            return super().statement_lines(day)
        lines = statement_lines()
        return Statement(day=day, raw=repr(lines).encode(), lines=lines)


def seed(merchant) -> dict:
    """Our side of the day: three successes (one in USD) and one succeeded refund."""
    payments = {
        key: _paid(merchant, out_trade_no, amount, currency)
        for key, out_trade_no, amount, currency in [
            ("matched", "KD-MATCHED", 2500, "CNY"),
            ("other_amount", "KD-OTHER-AMOUNT", 1000, "CNY"),
            ("missing_at_channel", "KD-NOT-IN-FILE", 800, "USD"),
        ]
    }
    refund = Refund.objects.create(
        payment=payments["matched"],
        out_refund_no="KD-R-OURS",
        amount=200,
        currency="CNY",
        reason="MANUAL",
        status=RefundStatus.SUCCEEDED,
        finished_at=at(12),
    )
    return {**payments, "refund": refund}


def _paid(merchant, out_trade_no, amount, currency):
    payment = scenario.payment(
        merchant,
        amount=amount,
        currency=currency,
        status=PaymentStatus.SUCCEEDED,
        out_trade_no=out_trade_no,
        channel_trade_no=f"SBX-{out_trade_no}",
    )
    scenario.aged(payment, "created_at", (timezone.now() - at(9)).total_seconds())
    ChannelTransaction.objects.create(
        channel="sandbox",
        channel_trade_no=f"SBX-{out_trade_no}",
        out_trade_no=out_trade_no,
        payment=payment,
        amount=amount,
        currency=currency,
        paid_at=at(10),
        source="callback",
    )
    return payment
