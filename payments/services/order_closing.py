"""Closing orders: every open attempt is closed at its channel before its order closes.

Closing sits beside the payment services because an order can only close once its attempts
have: the channel may say "already paid" (the order is PAID after all) or not answer yet.
"""

import logging

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from orders.audit import EXPIRY, Actor, move
from orders.enums import OPEN_ORDER_STATUSES, ORDER_TRANSITIONS, PAID_ORDER_STATUSES, OrderStatus
from orders.errors import Refusal
from orders.log_context import logs_with
from orders.models import Order
from payments.channels import get_channel
from payments.enums import OPEN_PAYMENT_STATUSES, EventType
from payments.events import event_emit, order_payload
from payments.models import Payment
from payments.services.attempts import (
    CloseOutcome,
    payment_close_attempt,
    payment_close_not_before,
)

logger = logging.getLogger(__name__)


class OrderNotClosable(Refusal):
    pass


@logs_with(order="order_id", actor="actor")
def order_close(*, order_id: str, actor: Actor, note: str = "") -> Order:
    """Close an unpaid order: every open attempt is closed at its channel FIRST.

    A channel that says "already paid" makes the order PAID after all; an unknown close result
    leaves the order open (raise) so it can be retried.
    """
    order = Order.objects.get(pk=order_id)
    _refuse_if_paid(order)
    open_attempts = order.payments.filter(status__in=OPEN_PAYMENT_STATUSES, superseded=False)
    for payment_id in open_attempts.values_list("pk", flat=True):
        outcome = payment_close_attempt(payment_id=payment_id, actor=actor)
        if outcome == CloseOutcome.DEFERRED:
            raise _close_deferred(Payment.objects.get(pk=payment_id))
        if outcome == CloseOutcome.UNKNOWN:
            raise OrderNotClosable(
                "payment_in_progress", "a payment attempt could not be closed at its channel yet"
            )
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        _refuse_if_paid(order)  # a close can find the attempt paid at its channel
        if order.status not in OPEN_ORDER_STATUSES:
            return order  # closed already: closing again is the same answer
        if open_attempts.exists():
            raise OrderNotClosable("payment_in_progress", "a new payment attempt was started")
        _close_locked_order(order, actor=actor, note=note)
    return order


def _close_deferred(payment: Payment) -> OrderNotClosable:
    adapter = get_channel(payment.channel)
    wait = adapter.capabilities.close_not_before_seconds
    not_before = payment_close_not_before(payment, adapter)
    return OrderNotClosable(
        "payment_in_progress",
        f"{adapter.code} accepts a close only {wait} s after a payment attempt started: "
        f"try again from {not_before.isoformat(timespec='seconds')}",
    )


def _refuse_if_paid(order: Order) -> None:
    if order.status in PAID_ORDER_STATUSES:
        raise OrderNotClosable("order_paid", "this order is paid: refund it instead of closing it")


def orders_close_expired(*, now, batch: int) -> int:
    """Expiry (pump job): close expired orders that have no open attempt left.

    Expired orders that still have one are not touched here: the payment checks close those
    attempts at their channel first (payments.services.scheduler), and the order follows on a
    later tick. Claimed with SKIP LOCKED, so concurrent pumps share the work.
    """
    open_attempt = Payment.objects.filter(
        order=OuterRef("pk"), status__in=OPEN_PAYMENT_STATUSES, superseded=False
    )
    with transaction.atomic():
        expired = list(
            Order.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_ORDER_STATUSES, expires_at__lte=now)
            .filter(~Exists(open_attempt))
            .order_by("expires_at")[:batch]
        )
        for order in expired:
            _close_locked_order(order, actor=EXPIRY, note="expired")
    return len(expired)


def _close_locked_order(order: Order, *, actor: Actor, note: str) -> None:
    move(order, OrderStatus.CLOSED, transitions=ORDER_TRANSITIONS, actor=actor, note=note)
    order.closed_at = timezone.now()
    order.save()
    event_emit(
        merchant_id=order.merchant_id,
        type=EventType.ORDER_CLOSED,
        payload={"order": order_payload(order)},
    )
    logger.info("order closed: order=%s actor=%s note=%s", order.pk, actor.kind, note)
