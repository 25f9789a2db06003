"""What a reconciled day adds up to: our totals against the channel's, outcomes, what is open."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q

from payments.models import Discrepancy
from reconciliation.days import day_bounds
from reconciliation.matching import SUCCESS_WORDS, day_outcomes, ours_of_day, totals
from reconciliation.models import Statement, StatementLine


@dataclass(frozen=True)
class DaySummary:
    channel: str
    day: date
    statement: Statement | None
    ours_payments: dict[str, int]
    ours_refunds: dict[str, int]
    channel_payments: dict[str, int]
    channel_refunds: dict[str, int]
    channel_fees: dict[str, int]
    outcomes: Counter
    open_discrepancies: list[Discrepancy] = field(default_factory=list)

    def net(self, payments: dict, refunds: dict, fees: dict | None = None) -> dict[str, int]:
        currencies = sorted({*payments, *refunds, *(fees or {})})
        fees = fees or {}
        return {c: payments.get(c, 0) - refunds.get(c, 0) - fees.get(c, 0) for c in currencies}


def day_summary(*, channel: str, day: date) -> DaySummary:
    statement = Statement.objects.filter(channel=channel, day=day).order_by("-version").first()
    transactions, refunds = ours_of_day(channel, *day_bounds(channel, day))
    lines = StatementLine.objects.filter(statement=statement, status__in=SUCCESS_WORDS)
    outcomes = day_outcomes(channel, day)
    discrepancy_ids = outcomes.exclude(discrepancy=None).values("discrepancy")
    return DaySummary(
        channel=channel,
        day=day,
        statement=statement,
        ours_payments=totals(transactions),
        ours_refunds=totals(refunds),
        channel_payments=totals(lines.filter(kind=StatementLine.Kind.PAYMENT)),
        channel_refunds=totals(lines.filter(kind=StatementLine.Kind.REFUND)),
        channel_fees=totals(
            StatementLine.objects.filter(statement=statement).filter(~Q(fee=None)), "fee"
        ),
        outcomes=Counter(outcomes.values_list("outcome", flat=True)),
        open_discrepancies=list(
            Discrepancy.objects.filter(pk__in=discrepancy_ids, resolved_at__isnull=True)
        ),
    )
