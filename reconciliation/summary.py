"""What a reconciled day adds up to: our totals against the channel's, outcomes, what is open."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.db.models import F, Q

from payments.models import Discrepancy
from reconciliation.days import day_bounds
from reconciliation.matching import (
    SUCCESS_WORDS,
    day_outcomes,
    ours_of_day,
    payment_fact,
    refund_fact,
    totals,
)
from reconciliation.models import ReconciliationOutcome, Statement, StatementDay, StatementLine


@dataclass(frozen=True)
class TotalsRow:
    """One line of a day's books, per currency; ours is None where we book nothing (fees)."""

    label: str
    ours: dict[str, int] | None
    channel: dict[str, int]
    # What the channel's figure must equal, where it is checked against the channel's own
    # figures rather than ours (the file's stated fee total against its lines' fees).
    against: dict[str, int] | None = None

    @property
    def agrees(self) -> bool:
        if self.against is not None:
            return self.against == self.channel
        return self.ours is None or self.ours == self.channel


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
    # The day's fees as the file's own summary states them; None: the file states none.
    channel_stated_fees: dict[str, int] | None
    outcomes: Counter
    open_discrepancies: list[Discrepancy] = field(default_factory=list)
    run: StatementDay | None = None  # None: the day was never run

    def net(self, payments: dict, refunds: dict, fees: dict | None = None) -> dict[str, int]:
        currencies = sorted({*payments, *refunds, *(fees or {})})
        fees = fees or {}
        return {c: payments.get(c, 0) - refunds.get(c, 0) - fees.get(c, 0) for c in currencies}

    def rows(self) -> list[TotalsRow]:
        """Payments, refunds, fees (the channel's lines'; we book none), the fee total the file
        states (when it states one) and net, ours vs the channel's."""
        stated = []
        if self.channel_stated_fees is not None:
            stated = [TotalsRow("stated fees", None, self.channel_stated_fees, self.channel_fees)]
        return [
            TotalsRow("payments", self.ours_payments, self.channel_payments),
            TotalsRow("refunds", self.ours_refunds, self.channel_refunds),
            TotalsRow("fees", None, self.channel_fees),
            *stated,
            TotalsRow(
                "net",
                self.net(self.ours_payments, self.ours_refunds),
                self.net(self.channel_payments, self.channel_refunds, self.channel_fees),
            ),
        ]


def day_summary(*, channel: str, day: date) -> DaySummary:
    statement = latest_statement(channel, day)
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
        channel_stated_fees=stated_fees(statement),
        outcomes=Counter(outcomes.values_list("outcome", flat=True)),
        open_discrepancies=list(
            Discrepancy.objects.filter(pk__in=discrepancy_ids, resolved_at__isnull=True)
        ),
        run=statement_day(channel, day),
    )


def stated_fees(statement: Statement | None) -> dict[str, int] | None:
    """The file's stated fee total, in the currency of its lines (a file states one total, so
    its lines are in one currency; WeChat Pay's adapter refuses a bill in several)."""
    if statement is None or statement.stated_fee_total is None:
        return None
    currencies = statement.lines.values_list("currency", flat=True).distinct()
    return {currency: statement.stated_fee_total for currency in currencies[:1]}


def statement_day(channel: str, day: date) -> StatementDay | None:
    return StatementDay.objects.filter(channel=channel, day=day).first()


def latest_statement(channel: str, day: date) -> Statement | None:
    return Statement.objects.filter(channel=channel, day=day).order_by("-version").first()


def day_discrepancies(*, channel: str, day: date) -> list[ReconciliationOutcome]:
    """The day's outcomes that raised a discrepancy, open ones first, with the rows involved."""
    return list(
        day_outcomes(channel, day)
        .exclude(discrepancy=None)
        .select_related("discrepancy__resolved_by", "line__statement", "payment", "refund")
        .order_by(F("discrepancy__resolved_at").desc(nulls_first=True), "fact")
    )


@dataclass(frozen=True)
class ReportRow:
    """One fact of the day as the export lists it: its outcome and the line the file had."""

    fact: str
    outcome: ReconciliationOutcome | None  # None: a line matching has not settled yet
    line: StatementLine | None  # None: a fact we hold that the file lacks


def day_report_rows(*, channel: str, day: date) -> list[ReportRow]:
    """Every outcome of the day with its line, then the latest file's lines that have none."""
    outcomes = list(
        day_outcomes(channel, day).select_related(
            "line", "payment", "refund", "discrepancy__resolved_by"
        )
    )
    rows = [ReportRow(row.fact, row, row.line) for row in outcomes]
    seen = {row.fact for row in outcomes}
    statement = latest_statement(channel, day)
    lines = statement.lines.all() if statement else []
    for line in lines:
        fact = (
            payment_fact(line.out_trade_no)
            if line.kind == StatementLine.Kind.PAYMENT
            else refund_fact(line)
        )
        if fact not in seen:
            rows.append(ReportRow(fact, None, line))
    return rows
