"""Matching a kept statement against our books, both directions, one fact at a time.

Every fact (a payment or a refund of the day) gets one ReconciliationOutcome row, updated in
place, and at most one discrepancy: a re-run finds the row and the discrepancy it already has, so
running a day twice changes nothing. A success we never heard of goes through
payment_apply_channel_result like any callback, in the same transaction as its outcome.

What we hold about a statement's lines is read in bulk (``Books``: a few queries per chunk of
lines, not per line), and the facts that simply agree are written together: a day costs a
bounded number of queries, plus a transaction for each line that changes something (a success
applied, a discrepancy raised).
"""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce

from orders.audit import STATEMENT_RUN
from payments.channels.base import TradeResult, TradeStatus
from payments.enums import RefundStatus, TransactionSource
from payments.models import ChannelTransaction, Discrepancy, Payment, Refund
from payments.services.discrepancies import discrepancy_record
from payments.services.results import ApplyOutcome, payment_apply_channel_result
from reconciliation.days import day_bounds
from reconciliation.models import Outcome, ReconciliationOutcome, Statement, StatementLine

logger = logging.getLogger(__name__)

# The channels' own words for a line that is money moved: the sandbox and WeChat Pay say
# SUCCESS; an Alipay statement holds only done business, named by its type (交易 / 退款).
SUCCESS_WORDS = frozenset({"SUCCESS", "交易", "退款"})

# Outcome → (discrepancy kind, what the details say went wrong) for outcomes finance must see.
DISCREPANCIES = {
    Outcome.MISSING_HERE: (Discrepancy.Kind.MISSING_HERE, "missing_here"),
    Outcome.MISSING_AT_CHANNEL: (Discrepancy.Kind.MISSING_AT_CHANNEL, "missing_at_channel"),
    Outcome.AMOUNT_MISMATCH: (Discrepancy.Kind.AMOUNT_MISMATCH, "amount"),
    Outcome.CURRENCY_MISMATCH: (Discrepancy.Kind.CURRENCY_MISMATCH, "currency"),
    Outcome.STATUS_MISMATCH: (Discrepancy.Kind.STATUS_MISMATCH, "status"),
    Outcome.REFUND_MISSING_HERE: (Discrepancy.Kind.REFUND_MISMATCH, "refund_missing_here"),
    Outcome.REFUND_MISSING_AT_CHANNEL: (
        Discrepancy.Kind.REFUND_MISMATCH,
        "refund_missing_at_channel",
    ),
    Outcome.REFUND_AMOUNT_MISMATCH: (Discrepancy.Kind.REFUND_MISMATCH, "refund_amount"),
    Outcome.REFUND_STATUS_MISMATCH: (Discrepancy.Kind.REFUND_MISMATCH, "refund_status"),
    Outcome.FEE_TOTAL_MISMATCH: (Discrepancy.Kind.FEE_TOTAL_MISMATCH, "fee_total"),
}

# The day's one fact about fees: the file's stated total against the sum of its lines'.
FEES_FACT = "fees"


def payment_fact(out_trade_no: str) -> str:
    return f"payment:{out_trade_no}"


def refund_fact(line: StatementLine) -> str:
    return f"refund:{line.out_refund_no or line.channel_refund_no}"


# Keys per bulk read: PostgreSQL takes far more, but a query this size stays cheap to plan.
CHUNK = 5000


@dataclass(frozen=True)
class Books:
    """What we hold about one statement's lines, read in bulk."""

    payments: dict[str, Payment]  # by out_trade_no, of every line
    learned: frozenset[int]  # ids of those payments whose success we recorded
    refunds: dict[str, Refund]  # by out_refund_no, with their payment
    kept: dict[str, ReconciliationOutcome]  # the day's outcomes so far, by fact


@dataclass(frozen=True)
class Finding:
    """What matching found for one fact, before it is recorded."""

    fact: str
    outcome: Outcome
    line: StatementLine | None = None
    payment: Payment | None = None
    refund: Refund | None = None
    details: dict[str, Any] = field(default_factory=dict)


def statement_match(*, statement: Statement, final: bool) -> None:
    """Match every line; once the statement is final, also what we hold that it lacks."""
    lines = list(statement.lines.all())
    books = _books(statement, lines)
    findings = [
        _match_payment_line(statement, line, books)
        if line.kind == StatementLine.Kind.PAYMENT
        else _match_refund_line(statement, line, final, books)
        for line in lines
    ]
    if final:
        findings += _missing_at_channel(statement, lines)
    findings.append(_match_fees(statement, lines))
    findings = [found for found in findings if found is not None]
    # a fact listed twice is one fact, and a line that disagrees is not hidden by its twin
    flagged = [found for found in findings if found.outcome != Outcome.MATCHED]
    flagged_facts = {found.fact for found in flagged}
    agreeing = {found.fact: found for found in findings if found.fact not in flagged_facts}
    _record_matched(statement, list(agreeing.values()), books.kept)
    for found in flagged:
        _record(statement, found, books.kept.get(found.fact))


def _books(statement: Statement, lines: list[StatementLine]) -> Books:
    out_trade_nos = {line.out_trade_no for line in lines}
    payments = {
        payment.out_trade_no: payment
        for chunk in _chunks(out_trade_nos)
        for payment in Payment.objects.filter(out_trade_no__in=chunk)
    }
    learned = frozenset(
        payment_id
        for chunk in _chunks(payment.pk for payment in payments.values())
        for payment_id in ChannelTransaction.objects.filter(payment_id__in=chunk).values_list(
            "payment_id", flat=True
        )
    )
    out_refund_nos = {line.out_refund_no for line in lines if line.out_refund_no}
    refunds = {
        refund.out_refund_no: refund
        for chunk in _chunks(out_refund_nos)
        for refund in Refund.objects.select_related("payment").filter(out_refund_no__in=chunk)
    }
    kept = {row.fact: row for row in day_outcomes(statement.channel, statement.day)}
    return Books(payments=payments, learned=learned, refunds=refunds, kept=kept)


def _chunks(keys: Iterable) -> Iterator[list]:
    keys = list(keys)
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]


def ours_of_day(channel: str, start, end) -> tuple:
    """Our successes and succeeded refunds on the channel in [start, end)."""
    transactions = ChannelTransaction.objects.annotate(at=Coalesce("paid_at", "created_at")).filter(
        channel=channel, at__gte=start, at__lt=end
    )
    refunds = Refund.objects.filter(
        payment__channel=channel,
        status=RefundStatus.SUCCEEDED,
        finished_at__gte=start,
        finished_at__lt=end,
    )
    return transactions, refunds


def _match_payment_line(statement: Statement, line: StatementLine, books: Books) -> Finding | None:
    fact = payment_fact(line.out_trade_no)
    payment = books.payments.get(line.out_trade_no)
    if payment is None or payment.channel != statement.channel:
        return Finding(fact, Outcome.MISSING_HERE, line=line, details=_line_details(line))
    compared = {
        "expected": [payment.amount, payment.currency],
        "reported": [line.amount, line.currency],
    }
    learned = payment.pk in books.learned
    if line.status not in SUCCESS_WORDS:
        outcome = Outcome.STATUS_MISMATCH if learned else Outcome.MATCHED
        details = {"ours": payment.status, "channel": line.status}
    elif not learned:
        _apply_line(statement, line, payment, compared, books.kept.get(fact))
        return None
    else:
        outcome = _mismatch(payment, line) or Outcome.MATCHED
        details = {}
    return Finding(fact, outcome, line=line, payment=payment, details=details | compared)


def _apply_line(
    statement: Statement, line: StatementLine, payment: Payment, compared: dict, kept
) -> None:
    """A success we never learned: applied as a callback would be, with its outcome, at once."""
    with transaction.atomic():
        applied = payment_apply_channel_result(
            result=_trade_result(line), source=TransactionSource.STATEMENT, actor=STATEMENT_RUN
        )
        if applied == ApplyOutcome.ALREADY_APPLIED:  # a callback got there first
            outcome = _mismatch(payment, line) or Outcome.MATCHED
        elif applied == ApplyOutcome.MISMATCH_REFUNDED:
            # the channel took another amount: apply refunded it all and recorded why
            outcome = _mismatch(payment, line)
        else:
            outcome = Outcome.APPLIED
        details = {"applied": str(applied)} | compared
        found = Finding(payment_fact(line.out_trade_no), outcome, line, payment, details=details)
        _record(statement, found, kept)


def _mismatch(payment: Payment, line: StatementLine) -> Outcome | None:
    if line.amount != payment.amount:
        return Outcome.AMOUNT_MISMATCH
    if line.currency != payment.currency:
        return Outcome.CURRENCY_MISMATCH
    return None


def _match_refund_line(
    statement: Statement, line: StatementLine, final: bool, books: Books
) -> Finding | None:
    fact = refund_fact(line)
    refund = books.refunds.get(line.out_refund_no) if line.out_refund_no else None
    details = _line_details(line)
    if refund is None or refund.payment.channel != statement.channel:
        payment = books.payments.get(line.out_trade_no)
        if payment is not None and payment.channel != statement.channel:
            payment = None
        return Finding(fact, Outcome.REFUND_MISSING_HERE, line, payment, details=details)
    details |= {"ours": [refund.amount, refund.currency, refund.status]}
    succeeded_there = line.status in SUCCESS_WORDS
    succeeded_here = refund.status == RefundStatus.SUCCEEDED
    if (line.amount, line.currency) != (refund.amount, refund.currency):
        outcome = Outcome.REFUND_AMOUNT_MISMATCH
    elif succeeded_there == succeeded_here:
        outcome = Outcome.MATCHED
    elif refund.status == RefundStatus.FAILED or final:
        outcome = Outcome.REFUND_STATUS_MISMATCH
    else:
        return None  # still settling on our side: the next run sees it settled
    return Finding(fact, outcome, line, refund.payment, refund, details)


def _match_fees(statement: Statement, lines: list[StatementLine]) -> Finding | None:
    """The day's fees as the file states them against what its lines add up to (a file that
    states no total has nothing to compare). A file states one total, so its lines are in one
    currency (WeChat Pay's adapter refuses a bill in several)."""
    if statement.stated_fee_total is None:
        return None
    outcome = (
        Outcome.MATCHED
        if statement.stated_fee_total == statement.fee_total
        else Outcome.FEE_TOTAL_MISMATCH
    )
    details = {
        "stated": statement.stated_fee_total,
        "lines": statement.fee_total,
        "currency": lines[0].currency if lines else "",
    }
    return Finding(FEES_FACT, outcome, details=details)


def _missing_at_channel(statement: Statement, lines: list[StatementLine]) -> list[Finding]:
    start, end = day_bounds(statement.channel, statement.day)
    transactions, refunds = ours_of_day(statement.channel, start, end)
    listed_trades = {line.out_trade_no for line in lines if line.kind == StatementLine.Kind.PAYMENT}
    listed_refunds = {
        line.out_refund_no for line in lines if line.kind == StatementLine.Kind.REFUND
    }
    missing = [
        Finding(
            payment_fact(held.out_trade_no),
            Outcome.MISSING_AT_CHANNEL,
            payment=held.payment,
            details={"ours": [held.amount, held.currency], "paid_at": _iso(held.paid_at)},
        )
        for held in transactions.exclude(out_trade_no__in=listed_trades).select_related("payment")
    ]
    missing += [
        Finding(
            f"refund:{refund.out_refund_no}",
            Outcome.REFUND_MISSING_AT_CHANNEL,
            payment=refund.payment,
            refund=refund,
            details={
                "ours": [refund.amount, refund.currency, refund.status],
                "finished_at": _iso(refund.finished_at),
            },
        )
        for refund in refunds.exclude(out_refund_no__in=listed_refunds).select_related("payment")
    ]
    return missing


def _record_matched(
    statement: Statement, findings: list[Finding], kept: dict[str, ReconciliationOutcome]
) -> None:
    """The facts that agree, written in one upsert: those already MATCHED are left as they are,
    and so are those an earlier run healed (APPLIED stays what happened)."""
    rows = [
        _outcome_row(statement, found, discrepancy=None)
        for found in findings
        if found.fact not in kept
        or kept[found.fact].outcome not in (Outcome.MATCHED, Outcome.APPLIED)
    ]
    for chunk in _chunks(rows):
        ReconciliationOutcome.objects.bulk_create(
            chunk,
            update_conflicts=True,
            unique_fields=["channel", "day", "fact"],
            update_fields=[*OUTCOME_FIELDS, "updated_at"],
        )
    if rows:
        logger.info(
            "reconciled: channel=%s day=%s %s facts: MATCHED",
            statement.channel,
            statement.day,
            len(rows),
        )


OUTCOME_FIELDS = ("outcome", "line", "payment", "refund", "discrepancy", "details")


def _outcome_row(statement: Statement, found: Finding, *, discrepancy) -> ReconciliationOutcome:
    return ReconciliationOutcome(
        channel=statement.channel,
        day=statement.day,
        fact=found.fact,
        outcome=found.outcome,
        line=found.line,
        payment=found.payment,
        refund=found.refund,
        discrepancy=discrepancy,
        details=found.details,
    )


def _record(statement: Statement, found: Finding, kept: ReconciliationOutcome | None) -> None:
    """Upsert the fact's outcome and, where finance must see it, its one discrepancy. What the
    bulk read already shows unchanged costs nothing; a change is re-checked under the row lock."""
    if kept is not None and _unchanged(kept.outcome, found.outcome):
        return
    channel, day = statement.channel, statement.day
    with transaction.atomic():
        kept = (
            ReconciliationOutcome.objects.select_for_update()
            .filter(channel=channel, day=day, fact=found.fact)
            .first()
        )
        if kept is not None and _unchanged(kept.outcome, found.outcome):
            return
        discrepancy = None
        if found.outcome in DISCREPANCIES:
            discrepancy = _discrepancy_for(channel, found)
        row = _outcome_row(statement, found, discrepancy=discrepancy)
        ReconciliationOutcome.objects.update_or_create(
            channel=channel,
            day=day,
            fact=found.fact,
            defaults={name: getattr(row, name) for name in OUTCOME_FIELDS},
        )
    logger.info("reconciled: channel=%s day=%s %s: %s", channel, day, found.fact, found.outcome)


def _unchanged(kept: str, outcome: Outcome) -> bool:
    # healed by an earlier run and matching now: APPLIED is still what happened
    return kept == outcome or (kept == Outcome.APPLIED and outcome == Outcome.MATCHED)


def _discrepancy_for(channel: str, found: Finding) -> Discrepancy:
    """The open discrepancy for this fact and kind, or a new one: never two for one fact."""
    kind, problem = DISCREPANCIES[found.outcome]
    payment, line = found.payment, found.line
    out_trade_no = payment.out_trade_no if payment else (line.out_trade_no if line else "")
    open_ones = Discrepancy.objects.filter(channel=channel, kind=kind, resolved_at__isnull=True)
    if found.fact.startswith("payment:"):
        # payment_apply_channel_result records an amount mismatch itself, with no fact
        open_ones = open_ones.filter(out_trade_no=out_trade_no)
    else:
        open_ones = open_ones.filter(details__fact=found.fact)
    existing = open_ones.first()
    if existing is not None:
        return existing
    return discrepancy_record(
        channel=channel,
        kind=kind,
        out_trade_no=out_trade_no,
        payment=payment,
        refund=found.refund,
        details={"fact": found.fact, "problem": problem, "source": "statement", **found.details},
    )


def _trade_result(line: StatementLine) -> TradeResult:
    return TradeResult(
        out_trade_no=line.out_trade_no,
        status=TradeStatus.SUCCEEDED,
        channel_trade_no=line.channel_trade_no or None,
        amount=line.amount,
        currency=line.currency,
        paid_at=line.time,
        raw={"statement_line": line.pk, **_line_details(line)},
    )


def _line_details(line: StatementLine) -> dict:
    return {
        "line": line.number,
        "out_trade_no": line.out_trade_no,
        "channel_trade_no": line.channel_trade_no,
        "out_refund_no": line.out_refund_no,
        "channel_refund_no": line.channel_refund_no,
        "amount": line.amount,
        "currency": line.currency,
        "status": line.status,
        "time": _iso(line.time),
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def totals(queryset, field: str = "amount") -> dict[str, int]:
    """Sums per currency."""
    return {
        row["currency"]: row["total"]
        for row in queryset.values("currency").annotate(total=Sum(field)).order_by("currency")
    }


def day_outcomes(channel: str, day: date):
    return ReconciliationOutcome.objects.filter(channel=channel, day=day)
