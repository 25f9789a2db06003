"""Money at risk: the one definition of what needs finance staff. The dashboard counts with it
and the lists filter with it (`?risk=<key>`), so a dashboard count is exactly its list's count.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum

from payments.enums import (
    OPEN_PAYMENT_STATUSES,
    DeliveryStatus,
    NotificationOutcome,
    PaymentStatus,
    RefundStatus,
)
from payments.models import ChannelNotification, Discrepancy, Refund, WebhookDelivery
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


def stuck_payments(now: datetime) -> Q:
    return overdue_payments(now) | flagged_payments(now) | expired_open_payments(now)


def unprocessed_callbacks(now: datetime) -> Q:
    # Younger ones are normal: the request that stored them, or the inbox job, is on them.
    stale_before = now - timedelta(seconds=settings.NOTIFICATION_REPROCESS_AFTER_SECONDS)
    return Q(outcome=NotificationOutcome.RECEIVED, received_at__lte=stale_before)


def _always(condition: Q) -> Callable[[datetime], Q]:
    return lambda now: condition


@dataclass(frozen=True)
class Risk:
    key: str
    label: str
    model: type[models.Model]  # the admin list that shows these rows
    condition: Callable[[datetime], Q]
    has_amount: bool  # rows with amount + currency: totals per currency


RISKS = (
    Risk("overdue", "Payments PAYING past the threshold", StuckPayment, overdue_payments, True),
    Risk("flagged", "Payments needing attention", StuckPayment, flagged_payments, True),
    Risk(
        "expired",
        "Payments open past their order's deadline",
        StuckPayment,
        expired_open_payments,
        True,
    ),
    Risk(
        "refunds_pending",
        "Refunds pending",
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
)
RISKS_BY_KEY = {risk.key: risk for risk in RISKS}


@dataclass(frozen=True)
class RiskLine:
    risk: Risk
    count: int
    totals: tuple[tuple[int, str], ...]  # (minor units, currency), one per currency


def money_at_risk(*, now: datetime) -> list[RiskLine]:
    return [_measure(risk, now) for risk in RISKS]


def _measure(risk: Risk, now: datetime) -> RiskLine:
    rows = risk.model._default_manager.filter(risk.condition(now))
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
