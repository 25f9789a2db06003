"""Money at risk: the one definition of what needs finance staff. The dashboard counts with it
and the lists filter with it (`?risk=<key>`), so a dashboard count is exactly its list's count.

A stuck payment is money at risk by what its channel last said (backoffice/last_word.py), not
by how long it has been open: an abandoned QR code is shown, without a money total.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from payments.enums import (
    OPEN_PAYMENT_STATUSES,
    DeliveryStatus,
    NotificationOutcome,
    PaymentStatus,
    RefundStatus,
)
from payments.models import (
    ChannelNotification,
    ChannelTransaction,
    Discrepancy,
    Refund,
    WebhookDelivery,
)
from reconciliation.last_word import nothing_paid, outcome_unknown, paid_not_applied, with_last_word
from reconciliation.models import StuckPayment


def overdue_payments(now: datetime) -> Q:
    stuck_since = now - timedelta(seconds=settings.STUCK_PAYMENT_AFTER_SECONDS)
    return Q(status=PaymentStatus.PAYING, created_at__lte=stuck_since)


def flagged_payments(now: datetime) -> Q:
    # The payment checks set needs_attention and nothing clears it when the payment settles
    # later: only a flagged payment that is still open needs anyone.
    return Q(needs_attention=True, status__in=OPEN_PAYMENT_STATUSES)


def expired_open_payments(now: datetime) -> Q:
    # Still open past the order's expiry plus the grace: the checks keep closing or querying it
    # with back-off, but the customer may have been charged on an order we no longer sell.
    deadline = now - timedelta(seconds=settings.PAYMENT_CHECK_GRACE_SECONDS)
    return Q(status__in=OPEN_PAYMENT_STATUSES, order__expires_at__lte=deadline)


# Why a payment is on the stuck list: (annotation, for people, condition).
STUCK_REASONS = (
    ("stuck_overdue", "PAYING past the threshold", overdue_payments),
    ("stuck_flagged", "flagged by the payment checks", flagged_payments),
    ("stuck_expired", "open past its order's deadline", expired_open_payments),
)


def stuck_payments(now: datetime) -> Q:
    return overdue_payments(now) | flagged_payments(now) | expired_open_payments(now)


def with_stuck_reasons(payments: QuerySet, now: datetime) -> QuerySet:
    return payments.annotate(
        **{
            name: ExpressionWrapper(condition(now), output_field=BooleanField())
            for name, _, condition in STUCK_REASONS
        }
    )


def stuck_reasons(payment) -> str:
    """Why an annotated payment is on the stuck list, for people."""
    return "; ".join(label for name, label, _ in STUCK_REASONS if getattr(payment, name))


def unprocessed_callbacks(now: datetime) -> Q:
    # Younger ones are normal: the request that stored them, or the inbox job, is on them.
    stale_before = now - timedelta(seconds=settings.NOTIFICATION_REPROCESS_AFTER_SECONDS)
    return Q(outcome=NotificationOutcome.RECEIVED, received_at__lte=stale_before)


def _always(condition: Q) -> Callable[[datetime], Q]:
    return lambda now: condition


def _stuck_and(word: Callable[[], Q]) -> Callable[[datetime], Q]:
    return lambda now: stuck_payments(now) & word()


def _as_is(rows: QuerySet) -> QuerySet:
    return rows


def extra_successes_unrefunded(now: datetime) -> Q:
    # money the channel took for an attempt that did not pay its order (a duplicate, a success
    # after the close, another amount), not yet all back with the buyer
    return Q(paid_order=False) & Q(refunded__lt=F("amount"))


def with_refunded(transactions: QuerySet) -> QuerySet:
    succeeded = (
        Refund.objects.filter(payment=OuterRef("payment_id"), status=RefundStatus.SUCCEEDED)
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return transactions.annotate(refunded=Coalesce(Subquery(succeeded), 0))


@dataclass(frozen=True)
class Risk:
    key: str
    label: str
    model: type[models.Model]  # the admin list that shows these rows
    condition: Callable[[datetime], Q]
    has_amount: bool  # rows with amount + currency: totals per currency
    annotate: Callable[[QuerySet], QuerySet] = _as_is  # what the condition reads beyond fields
    at_risk: bool = True  # False: shown for the record, never counted as money at risk

    def rows(self, rows: QuerySet, now: datetime) -> QuerySet:
        return self.annotate(rows).filter(self.condition(now))


RISKS = (
    Risk(
        "payments_unknown",
        "Payments whose outcome is unknown (channel unreachable, timeouts, unverifiable "
        "answers, close unknown)",
        StuckPayment,
        _stuck_and(outcome_unknown),
        True,
        with_last_word,
    ),
    Risk(
        "payments_paid_not_applied",
        "Payments paid at the channel but not applied",
        StuckPayment,
        _stuck_and(paid_not_applied),
        True,
        with_last_word,
    ),
    Risk(
        "extra_successes",
        "Extra successes not yet refunded (duplicates, paid after the close, other amounts)",
        ChannelTransaction,
        extra_successes_unrefunded,
        True,
        with_refunded,
    ),
    Risk(
        "refunds_pending",
        "Refunds not yet confirmed by the channel (pending, or the outcome unknown)",
        Refund,
        _always(Q(status__in=(RefundStatus.PENDING, RefundStatus.PROCESSING))),
        True,
    ),
    Risk("refunds_failed", "Refunds failed", Refund, _always(Q(status=RefundStatus.FAILED)), True),
    Risk(
        "refunds_flagged",
        "Refunds needing attention",
        Refund,
        _always(Q(needs_attention=True)),
        True,
    ),
    Risk(
        "callbacks_unprocessed",
        "Callbacks unprocessed",
        ChannelNotification,
        unprocessed_callbacks,
        False,
    ),
    Risk(
        "callbacks_rejected",
        "Callbacks rejected",
        ChannelNotification,
        _always(Q(outcome=NotificationOutcome.REJECTED)),
        False,
    ),
    Risk(
        "callbacks_dead",
        "Callbacks dead-lettered (processing failed on every try)",
        ChannelNotification,
        _always(Q(outcome=NotificationOutcome.DEAD)),
        False,
    ),
    Risk(
        "webhooks_dead",
        "Webhook deliveries dead-lettered",
        WebhookDelivery,
        _always(Q(status=DeliveryStatus.DEAD)),
        False,
    ),
    Risk(
        "discrepancies_open",
        "Discrepancies open",
        Discrepancy,
        _always(Q(resolved_at__isnull=True)),
        False,
    ),
    Risk(
        "payments_abandoned",
        "Payments the buyer never paid (abandoned: the channel says no money moved)",
        StuckPayment,
        _stuck_and(nothing_paid),
        False,
        with_last_word,
        at_risk=False,
    ),
)
RISKS_BY_KEY = {risk.key: risk for risk in RISKS}


@dataclass(frozen=True)
class RiskLine:
    risk: Risk
    count: int
    totals: tuple[tuple[int, str], ...]  # (minor units, currency), one per currency


def money_at_risk(*, now: datetime) -> list[RiskLine]:
    """Every line of the dashboard, at risk or not (Risk.at_risk says which)."""
    return [_measure(risk, now) for risk in RISKS]


def _measure(risk: Risk, now: datetime) -> RiskLine:
    rows = risk.rows(risk.model._default_manager.all(), now)
    if not risk.has_amount:
        return RiskLine(risk, rows.count(), ())
    per_currency = list(
        rows.order_by("currency").values("currency").annotate(rows=Count("pk"), total=Sum("amount"))
    )
    return RiskLine(
        risk,
        sum(group["rows"] for group in per_currency),
        tuple((group["total"], group["currency"]) for group in per_currency),
    )
