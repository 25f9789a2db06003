"""Retention: the append-only records that are not money end after their lifetime (a schedule).

Each kind names the rows that may go once older than its lifetime (a setting, in seconds,
README "Settings"). Money and its audit are never here: payments, refunds, channel
transactions, orders, events, status changes, statements and discrepancies have no lifetime
(and the database's foreign keys refuse deleting a payment or an order that others point at,
tests/test_retention.py). Deletion runs in bounded batches, each its own short transaction that
skips rows another purge holds, so a backlog never makes one long lock or one huge statement.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.db.models import QuerySet

from payments.enums import OPEN_PAYMENT_STATUSES, DeliveryStatus, NotificationOutcome
from payments.models import ChannelNotification, IdempotencyKey, PaymentCheck, WebhookDelivery

BATCH_SIZE = 1000
# At most this many batches per kind and run: a backlog is worked off over several runs.
MAX_BATCHES = 100


def _older_than(setting: str, now: datetime) -> datetime:
    return now - timedelta(seconds=getattr(settings, setting))


def _payment_checks(now: datetime) -> QuerySet:
    # An open payment, or one finance must look at, keeps its whole timeline.
    cutoff = _older_than("PAYMENT_CHECK_RETENTION_SECONDS", now)
    return (
        PaymentCheck.objects.filter(asked_at__lt=cutoff)
        .exclude(payment__status__in=OPEN_PAYMENT_STATUSES)
        .exclude(payment__needs_attention=True)
    )


def _notifications(now: datetime) -> QuerySet:
    # Only processed callbacks: one still waiting (RECEIVED) or dead-lettered is work to do.
    # Never inside the freshness window, whose accepted nonces are what refuses a replay.
    cutoff = min(
        _older_than("NOTIFICATION_RETENTION_SECONDS", now),
        now - timedelta(seconds=2 * settings.CALLBACK_TOLERANCE_SECONDS),
    )
    return ChannelNotification.objects.filter(
        processed_at__lt=cutoff,
        outcome__in=[
            NotificationOutcome.APPLIED,
            NotificationOutcome.UNCHANGED,
            NotificationOutcome.REJECTED,
        ],
    )


def _webhook_attempts(now: datetime) -> QuerySet:
    # Delivered ones only (a dead one waits to be replayed); the event stays in GET /events.
    cutoff = _older_than("WEBHOOK_ATTEMPT_RETENTION_SECONDS", now)
    return WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__lt=cutoff)


def _admin_log(now: datetime) -> QuerySet:
    return LogEntry.objects.filter(action_time__lt=_older_than("ADMIN_LOG_RETENTION_SECONDS", now))


def _idempotency_keys(now: datetime) -> QuerySet:
    cutoff = _older_than("IDEMPOTENCY_KEY_RETENTION_SECONDS", now)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff)


# Each kind: the rows that may go at ``now``.
RETENTION: dict[str, Callable[[datetime], QuerySet]] = {
    "payment_checks": _payment_checks,
    "notifications": _notifications,
    "webhook_attempts": _webhook_attempts,
    "admin_log": _admin_log,
    "idempotency_keys": _idempotency_keys,
}


def retention_purge(*, kind: str, now: datetime, batch: int = BATCH_SIZE) -> int:
    """Delete ``kind``'s rows past their lifetime; returns how many went."""
    expired = RETENTION[kind](now).order_by()
    deleted = 0
    for _ in range(MAX_BATCHES):
        with transaction.atomic():
            ids = list(
                expired.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", flat=True
                )[:batch]
            )
            if ids:
                deleted += expired.model.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch:
            break
    return deleted


def retention_purge_all(*, now: datetime, batch: int = BATCH_SIZE) -> dict[str, int]:
    return {kind: retention_purge(kind=kind, now=now, batch=batch) for kind in RETENTION}
