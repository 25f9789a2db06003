"""Refunds: requested under the payment's row lock, executed by a job, idempotent at the channel
through out_refund_no. A refund whose outcome is unknown is retried until the channel answers."""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from orders.audit import Actor, move, record_status_change
from orders.enums import ORDER_TRANSITIONS, OrderStatus
from orders.errors import Refusal
from payments.channels import get_channel
from payments.channels.base import (
    ChannelError,
    ChannelUnavailable,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
)
from payments.enums import REFUND_TRANSITIONS, EventType, PaymentStatus, RefundStatus
from payments.events import event_emit, order_payload, refund_payload
from payments.locks import lock_order
from payments.models import Payment, Refund
from payments.queue import enqueue

logger = logging.getLogger(__name__)

FINAL_REFUND_STATUSES = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)


class RefundRefused(Refusal):
    pass


def refund_request(
    *, payment_id: str, amount: int, reason: str, actor: Actor, note: str = ""
) -> Refund:
    """A refund asked for by a merchant or finance staff (automatic ones are created by
    payment_apply_channel_result in the transaction that learns the extra success)."""
    with transaction.atomic():
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        lock_order(order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        return refund_create_in_transaction(
            payment=payment, amount=amount, reason=reason, actor=actor, note=note
        )


def refund_create_in_transaction(
    *, payment: Payment, amount: int, reason: str, actor: Actor, note: str = ""
) -> Refund:
    """Create a PENDING refund. The caller holds the order and payment row locks, which is what
    makes "never more than was paid" hold under concurrency."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise RefundRefused("payment_not_succeeded", "only a succeeded payment can be refunded")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise RefundRefused("invalid_amount", "the refund amount must be a positive integer")
    refundable = refundable_amount(payment)
    if amount > refundable:
        raise RefundRefused(
            "refund_exceeds_payment",
            f"{amount} would refund more than the {refundable} still refundable",
        )
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        note=note,
        next_attempt_at=timezone.now(),
    )
    record_status_change(refund, from_status="", actor=actor, note=note or reason)
    transaction.on_commit(partial(enqueue, "payments.tasks.execute_refund", refund.id))
    return refund


def refundable_amount(payment: Payment) -> int:
    """What is left to refund: the payment minus every refund that has not failed."""
    refunded = payment.refunds.exclude(status=RefundStatus.FAILED).aggregate(total=Sum("amount"))
    return payment.amount - (refunded["total"] or 0)


def refund_execute(*, refund_id: str, actor: Actor) -> Refund:
    """Ask the channel to refund (or, with the same out_refund_no, how the refund went)."""
    order_id = _order_id_of(refund_id)
    with transaction.atomic():
        # The order row first, as every service does: the audit row written here checks its
        # (deferred) foreign key to the order at commit, which must not wait behind a service
        # that holds the order and waits for this refund.
        lock_order(order_id)
        refund = _lock_refund(refund_id)
        if refund.status in FINAL_REFUND_STATUSES:
            return refund
        if refund.status == RefundStatus.PENDING:
            move(refund, RefundStatus.PROCESSING, transitions=REFUND_TRANSITIONS, actor=actor)
        refund.attempts += 1
        refund.next_attempt_at = timezone.now() + _retry_delay(refund.attempts)
        refund.save()
    payment = refund.payment
    try:
        result = get_channel(payment.channel).refund(
            RefundRequest(
                out_trade_no=payment.out_trade_no,
                out_refund_no=refund.out_refund_no,
                amount=refund.amount,
                total_amount=payment.amount,
                currency=refund.currency,
            )
        )
    except ChannelUnavailable as error:
        result = RefundResult(
            out_refund_no=refund.out_refund_no,
            status=RefundResultStatus.UNKNOWN,
            raw={"error": str(error)},
        )
    except ChannelError as error:
        result = RefundResult(
            out_refund_no=refund.out_refund_no,
            status=RefundResultStatus.FAILED,
            raw={"error": str(error), "code": error.code},
        )
    return refund_apply_result(refund_id=refund_id, result=result, actor=actor)


def refund_apply_result(*, refund_id: str, result: RefundResult, actor: Actor) -> Refund:
    order_id = _order_id_of(refund_id)
    with transaction.atomic():
        order = lock_order(order_id)
        refund = _lock_refund(refund_id)
        if refund.status in FINAL_REFUND_STATUSES:
            return refund
        if result.status == RefundResultStatus.SUCCEEDED:
            move(refund, RefundStatus.SUCCEEDED, transitions=REFUND_TRANSITIONS, actor=actor)
            refund.channel_refund_no = result.channel_refund_no or ""
            refund.finished_at = timezone.now()
            refund.next_attempt_at = None
            refund.needs_attention = False
            refund.save()
            event_emit(
                merchant_id=order.merchant_id,
                type=EventType.REFUND_SUCCEEDED,
                payload={"refund": refund_payload(refund), "order": order.id},
            )
            if order.paid_payment_id == refund.payment_id:
                _count_refund_on_order(order, refund, actor)
        elif result.status == RefundResultStatus.FAILED:
            move(refund, RefundStatus.FAILED, transitions=REFUND_TRANSITIONS, actor=actor)
            refund.last_error = str(result.raw.get("error", ""))[:2000]
            refund.finished_at = timezone.now()
            refund.next_attempt_at = None
            refund.needs_attention = True  # money that should go back did not: finance decides
            refund.save()
            event_emit(
                merchant_id=order.merchant_id,
                type=EventType.REFUND_FAILED,
                payload={"refund": refund_payload(refund), "order": order.id},
            )
            logger.error("refund failed: refund=%s order=%s", refund.id, order.id)
        else:
            refund.last_error = str(result.raw.get("error", ""))[:2000]
            if refund.attempts >= settings.REFUND_ATTENTION_AFTER_ATTEMPTS:
                refund.needs_attention = True
            refund.save()
    return refund


def _order_id_of(refund_id: str) -> str:
    return Refund.objects.values_list("payment__order_id", flat=True).get(pk=refund_id)


def _lock_refund(refund_id: str) -> Refund:
    return (
        Refund.objects.select_for_update(of=("self",)).select_related("payment").get(pk=refund_id)
    )


def _count_refund_on_order(order, refund: Refund, actor: Actor) -> None:
    order.refunded_amount += refund.amount
    if order.refunded_amount == order.amount and order.status == OrderStatus.PAID:
        move(order, OrderStatus.REFUNDED, transitions=ORDER_TRANSITIONS, actor=actor)
        event_emit(
            merchant_id=order.merchant_id,
            type=EventType.ORDER_REFUNDED,
            payload={"order": order_payload(order)},
        )
    order.save()


def _retry_delay(attempts: int) -> timedelta:
    schedule = settings.REFUND_RETRY_SCHEDULE
    return timedelta(seconds=schedule[min(attempts, len(schedule)) - 1])
