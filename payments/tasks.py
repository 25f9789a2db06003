"""django-q2 entry points: ids in, one service call, idempotent (a retry repeats nothing).

Each task is named after the service it calls, with the arguments a queue can carry.
"""

from django.utils import timezone

from orders.audit import JOB
from payments.services import (
    attempts,
    notifications,
    order_closing,
    refunds,
    retention,
    scheduler,
)
from payments.webhooks import delivery


def payments_check_due(batch: int = 20, channel: str | None = None) -> int:
    """Pump job, one lane per channel (settings.PUMP_CHANNEL_JOBS); all channels at once when
    called without one."""
    if channel is None:
        return scheduler.payments_check_due(now=timezone.now(), batch=batch)
    return scheduler.payments_check_backlog(now=timezone.now(), batch=batch, channel=channel)


def payments_drain_due(channel: str) -> int:
    """Started by the pump when a channel's checks are backlogged (any cluster runs it)."""
    return scheduler.payments_drain_due(channel=channel)


def notifications_reprocess_stale(batch: int = 20) -> int:
    return notifications.notifications_reprocess_stale(now=timezone.now(), batch=batch)


def refund_execute(refund_id: str) -> str:
    return refunds.refund_execute(refund_id=refund_id, actor=JOB).status


def payment_close_attempt(payment_id: str) -> str:
    return attempts.payment_close_attempt(payment_id=payment_id, actor=JOB)


def refunds_execute_due(batch: int = 20, channel: str | None = None) -> int:
    """Pump job, one lane per channel: refunds whose next attempt is due (one owner each)."""
    return refunds.refunds_execute_due(now=timezone.now(), batch=batch, actor=JOB, channel=channel)


def orders_close_expired(batch: int = 50) -> int:
    """Pump job: expired orders with no open attempt left."""
    return order_closing.orders_close_expired(now=timezone.now(), batch=batch)


def webhook_deliver_due() -> int:
    """Pump job: webhook deliveries whose retry is due, claimed with SKIP LOCKED."""
    return delivery.webhook_deliver_due()


def retention_purge() -> dict[str, int]:
    """Schedule: every kind of record past its lifetime (payments/services/retention.py)."""
    return retention.retention_purge_all(now=timezone.now())
