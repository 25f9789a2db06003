"""Matching a kept statement against our books, both directions, one fact at a time.

Every fact (a payment or a refund of the day) gets one ReconciliationOutcome row, updated in
place, and at most one discrepancy: a re-run finds the row and the discrepancy it already has, so
running a day twice changes nothing. A success we never heard of goes through
payment_apply_channel_result like any callback, in the same transaction as its outcome.
"""

import logging
from datetime import date

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
}


def payment_fact(out_trade_no: str) -> str:
    return f"payment:{out_trade_no}"


def refund_fact(line: StatementLine) -> str:
    return f"refund:{line.out_refund_no or line.channel_refund_no}"


def statement_match(*, statement: Statement, final: bool) -> None:
    """Match every line; once the statement is final, also what we hold that it lacks."""
    lines = list(statement.lines.all())
    for line in lines:
        if line.kind == StatementLine.Kind.PAYMENT:
            _match_payment_line(statement, line)
        else:
            _match_refund_line(statement, line, final)
    if final:
        _find_missing_at_channel(statement, lines)


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


def _match_payment_line(statement: Statement, line: StatementLine) -> None:
    fact = payment_fact(line.out_trade_no)
    payment = Payment.objects.filter(out_trade_no=line.out_trade_no).first()
    if payment is None or payment.channel != statement.channel:
        _record(statement, fact, Outcome.MISSING_HERE, line=line, details=_line_details(line))
        return
    succeeded_here = ChannelTransaction.objects.filter(payment=payment).exists()
    with transaction.atomic():
        if line.status not in SUCCESS_WORDS:
            outcome = Outcome.STATUS_MISMATCH if succeeded_here else Outcome.MATCHED
            details = {"ours": payment.status, "channel": line.status}
        elif not succeeded_here:
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
            details = {"applied": str(applied)}
        else:
            outcome = _mismatch(payment, line) or Outcome.MATCHED
            details = {}
        details |= {
            "expected": [payment.amount, payment.currency],
            "reported": [line.amount, line.currency],
        }
        _record(statement, fact, outcome, line=line, payment=payment, details=details)


def _mismatch(payment: Payment, line: StatementLine) -> Outcome | None:
    if line.amount != payment.amount:
        return Outcome.AMOUNT_MISMATCH
    if line.currency != payment.currency:
        return Outcome.CURRENCY_MISMATCH
    return None


def _match_refund_line(statement: Statement, line: StatementLine, final: bool) -> None:
    fact = refund_fact(line)
    refund = (
        Refund.objects.select_related("payment").filter(out_refund_no=line.out_refund_no).first()
        if line.out_refund_no
        else None
    )
    details = _line_details(line)
    if refund is None or refund.payment.channel != statement.channel:
        payment = Payment.objects.filter(
            out_trade_no=line.out_trade_no, channel=statement.channel
        ).first()
        _record(
            statement,
            fact,
            Outcome.REFUND_MISSING_HERE,
            line=line,
            payment=payment,
            details=details,
        )
        return
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
        return  # still settling on our side: the next run sees it settled
    _record(
        statement, fact, outcome, line=line, payment=refund.payment, refund=refund, details=details
    )


def _find_missing_at_channel(statement: Statement, lines: list[StatementLine]) -> None:
    start, end = day_bounds(statement.channel, statement.day)
    transactions, refunds = ours_of_day(statement.channel, start, end)
    listed_trades = {line.out_trade_no for line in lines if line.kind == StatementLine.Kind.PAYMENT}
    listed_refunds = {
        line.out_refund_no for line in lines if line.kind == StatementLine.Kind.REFUND
    }
    for held in transactions.exclude(out_trade_no__in=listed_trades).select_related("payment"):
        details = {"ours": [held.amount, held.currency], "paid_at": _iso(held.paid_at)}
        _record(
            statement,
            payment_fact(held.out_trade_no),
            Outcome.MISSING_AT_CHANNEL,
            payment=held.payment,
            details=details,
        )
    for refund in refunds.exclude(out_refund_no__in=listed_refunds).select_related("payment"):
        details = {
            "ours": [refund.amount, refund.currency, refund.status],
            "finished_at": _iso(refund.finished_at),
        }
        _record(
            statement,
            f"refund:{refund.out_refund_no}",
            Outcome.REFUND_MISSING_AT_CHANNEL,
            payment=refund.payment,
            refund=refund,
            details=details,
        )


def _record(
    statement: Statement,
    fact: str,
    outcome: Outcome,
    *,
    line: StatementLine | None = None,
    payment: Payment | None = None,
    refund: Refund | None = None,
    details: dict,
) -> ReconciliationOutcome:
    """Upsert the fact's outcome and, where finance must see it, its one discrepancy."""
    channel, day = statement.channel, statement.day
    with transaction.atomic():
        kept = (
            ReconciliationOutcome.objects.select_for_update()
            .filter(channel=channel, day=day, fact=fact)
            .first()
        )
        if kept is not None and kept.outcome == Outcome.APPLIED and outcome == Outcome.MATCHED:
            outcome = Outcome.APPLIED  # healed by an earlier run: still what happened
        if kept is not None and kept.outcome == outcome:
            return kept
        discrepancy = None
        if outcome in DISCREPANCIES:
            discrepancy = _discrepancy_for(
                channel, fact, outcome, payment=payment, refund=refund, line=line, details=details
            )
        row, _ = ReconciliationOutcome.objects.update_or_create(
            channel=channel,
            day=day,
            fact=fact,
            defaults={
                "outcome": outcome,
                "line": line,
                "payment": payment,
                "refund": refund,
                "discrepancy": discrepancy,
                "details": details,
            },
        )
    logger.info("reconciled: channel=%s day=%s %s: %s", channel, day, fact, outcome)
    return row


def _discrepancy_for(
    channel: str, fact: str, outcome: Outcome, *, payment, refund, line, details: dict
) -> Discrepancy:
    """The open discrepancy for this fact and kind, or a new one: never two for one fact."""
    kind, problem = DISCREPANCIES[outcome]
    out_trade_no = payment.out_trade_no if payment else (line.out_trade_no if line else "")
    open_ones = Discrepancy.objects.filter(channel=channel, kind=kind, resolved_at__isnull=True)
    if fact.startswith("payment:"):
        # payment_apply_channel_result records an amount mismatch itself, with no fact
        open_ones = open_ones.filter(out_trade_no=out_trade_no)
    else:
        open_ones = open_ones.filter(details__fact=fact)
    existing = open_ones.first()
    if existing is not None:
        return existing
    return discrepancy_record(
        channel=channel,
        kind=kind,
        out_trade_no=out_trade_no,
        payment=payment,
        refund=refund,
        details={"fact": fact, "problem": problem, "source": "statement", **details},
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
