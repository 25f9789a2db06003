"""What a payment's channel last said (its latest check: a query or a close), as annotations a
list can filter and count on: that, not the payment's own status, tells finance whether a stuck
payment is money at risk (the outcome is unknown, or the channel took money we did not apply)
or a buyer who never paid (an abandoned QR code)."""

from datetime import UTC, datetime

from django.db.models import OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from payments.channels.base import TradeStatus
from payments.models import PaymentCheck

# Answers that say no money moved at the channel: waiting for the buyer, no such trade (a QR
# code nobody opened), closed or failed there.
NOTHING_PAID = (TradeStatus.PAYING, TradeStatus.NOT_FOUND, TradeStatus.CLOSED, TradeStatus.FAILED)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def with_last_word(payments: QuerySet) -> QuerySet:
    """Annotate last_call, last_answer, last_error, last_asked_at, and word_since: when the
    channel started saying it (the first of the latest run of the same answer; the payment's
    start when it was never asked)."""
    if "last_answer" in payments.query.annotations:
        return payments
    checks = PaymentCheck.objects.filter(payment=OuterRef("pk"))
    latest = checks.order_by("-asked_at", "-id")
    payments = payments.annotate(
        last_call=Subquery(latest.values("call")[:1]),
        last_answer=Subquery(latest.values("answer")[:1]),
        last_error=Subquery(latest.values("error")[:1]),
        last_asked_at=Subquery(latest.values("asked_at")[:1]),
    )
    said_otherwise = checks.exclude(answer=OuterRef("last_answer")).order_by("-asked_at")
    payments = payments.annotate(
        said_otherwise_at=Coalesce(Subquery(said_otherwise.values("asked_at")[:1]), Value(EPOCH))
    )
    first_of_run = checks.filter(
        answer=OuterRef("last_answer"), asked_at__gt=OuterRef("said_otherwise_at")
    ).order_by("asked_at")
    return payments.annotate(
        word_since=Coalesce(Subquery(first_of_run.values("asked_at")[:1]), "created_at")
    )


def outcome_unknown() -> Q:
    """Never asked, or the last answer was no answer (unreachable, a timeout, an answer that
    could not be verified, a close whose result is unknown)."""
    return Q(last_answer__isnull=True) | Q(last_answer=TradeStatus.UNKNOWN)


def paid_not_applied() -> Q:
    """The channel said paid, and the payment is still open here."""
    return Q(last_answer=TradeStatus.SUCCEEDED)


def nothing_paid() -> Q:
    return Q(last_answer__in=NOTHING_PAID)
