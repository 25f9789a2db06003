"""django-q2 entry points: ids in, one service call, idempotent (a retry repeats nothing)."""

from django.utils import timezone

from orders.audit import JOB
from payments.services.attempts import payment_close_attempt
from payments.services.idempotency_keys import idempotency_keys_purge
from payments.services.notifications import notifications_reprocess_stale
from payments.services.order_closing import orders_close_expired
from payments.services.refunds import refund_execute, refunds_execute_due
from payments.services.scheduler import payments_check_due
from payments.webhooks.delivery import webhook_deliver_due


def check_due_payments(batch: int = 20, channel: str | None = None) -> int:
    """Pump job, one lane per channel (settings.PUMP_CHANNEL_JOBS)."""
    return payments_check_due(now=timezone.now(), batch=batch, channel=channel)


def reprocess_stale_notifications(batch: int = 20) -> int:
    return notifications_reprocess_stale(now=timezone.now(), batch=batch)


def execute_refund(refund_id: str) -> str:
    return refund_execute(refund_id=refund_id, actor=JOB).status


def close_attempt(payment_id: str) -> str:
    return payment_close_attempt(payment_id=payment_id, actor=JOB)


def execute_due_refunds(batch: int = 20, channel: str | None = None) -> int:
    """Pump job, one lane per channel: refunds whose next attempt is due (one owner each)."""
    return refunds_execute_due(now=timezone.now(), batch=batch, actor=JOB, channel=channel)


def close_expired_orders(batch: int = 50) -> int:
    """Pump job: expired orders with no open attempt left."""
    return orders_close_expired(now=timezone.now(), batch=batch)


def deliver_due_webhooks() -> int:
    """Pump job: webhook deliveries whose retry is due, claimed with SKIP LOCKED."""
    return webhook_deliver_due()


def purge_idempotency_keys() -> int:
    """Schedule: Idempotency-Key rows past their retention (24 h)."""
    return idempotency_keys_purge()
