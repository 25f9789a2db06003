"""Reads for the back office's reconciliation figures: days not yet reconciled, and the money
the open discrepancies involve."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from payments.models import Discrepancy, Payment
from reconciliation.days import StatementUnavailable, availability, last_final_day, local_day
from reconciliation.models import ReconciliationOutcome, StatementDay


@dataclass(frozen=True)
class UnreconciledDay:
    channel: str
    day: date
    run: StatementDay | None  # None: never run (the schedule was down, or the day is older)


def statement_channels() -> list[str]:
    """The configured channels that ship a daily statement."""
    channels = []
    for code in settings.PAYMENT_CHANNELS:
        try:
            availability(code)
        except StatementUnavailable:
            continue
        channels.append(code)
    return channels


def days_not_reconciled(*, now: datetime) -> dict[str, list[UnreconciledDay]]:
    """Per channel with a statement, every day whose statement should be final by now and was
    not reconciled against it, newest first. A channel's days start at its first payment:
    nothing of ours can be in an earlier statement."""
    channels = statement_channels()
    firsts = first_payments(channels)
    spans = {
        channel: (local_day(channel, first), last_final_day(channel, now))
        for channel, first in firsts.items()
    }
    runs = {(run.channel, run.day): run for run in StatementDay.objects.filter(channel__in=spans)}
    return {
        channel: _unreconciled(channel, *spans.get(channel, (None, None)), runs)
        for channel in channels
    }


def first_payments(channels: list[str]) -> dict[str, datetime]:
    """When each channel's first payment started, for those that have one: one query, each
    channel's first read from the head of its index (channel, created_at), whatever the table's
    size (a GROUP BY would read every payment)."""
    if not channels:
        return {}
    firsts = [
        Payment.objects.filter(channel=channel)
        .order_by("created_at")
        .values_list("channel", "created_at")[:1]
        for channel in channels
    ]
    return dict(firsts[0].union(*firsts[1:], all=True))


def _unreconciled(channel: str, first_day, last_day, runs: dict) -> list[UnreconciledDay]:
    days = []
    day = last_day
    while first_day is not None and day >= first_day:  # None: no payment on the channel yet
        run = runs.get((channel, day))
        if run is None or run.status != StatementDay.Status.RECONCILED:
            days.append(UnreconciledDay(channel, day, run))
        day -= timedelta(days=1)
    return days


@dataclass(frozen=True)
class OpenDiscrepancies:
    count: int
    totals: tuple[tuple[int, str], ...]  # (minor units, currency), one per currency
    without_amount: int  # discrepancies that name no payment, refund or statement line


def open_discrepancies() -> OpenDiscrepancies:
    """The money an open discrepancy involves: its refund's amount, else its statement line's
    (what the channel says), else its payment's."""
    line = ReconciliationOutcome.objects.filter(discrepancy=OuterRef("pk"), line__isnull=False)
    rows = (
        Discrepancy.objects.filter(resolved_at__isnull=True)
        .annotate(
            money=Coalesce(
                "refund__amount", Subquery(line.values("line__amount")[:1]), "payment__amount"
            ),
            money_currency=Coalesce(
                "refund__currency",
                Subquery(line.values("line__currency")[:1]),
                "payment__currency",
            ),
        )
        .values_list("money", "money_currency")
    )
    per_currency: dict[str, int] = defaultdict(int)
    count = without_amount = 0
    for amount, currency in rows:
        count += 1
        if amount is None:
            without_amount += 1
        else:
            per_currency[currency] += amount
    return OpenDiscrepancies(
        count=count,
        totals=tuple((per_currency[c], c) for c in sorted(per_currency)),
        without_amount=without_amount,
    )
