import logging

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from orders.audit import Actor
from orders.enums import PAID_ORDER_STATUSES, OrderStatus
from orders.errors import Refusal
from orders.log_context import logs_with
from payments.enums import AUTOMATIC_REFUND_REASONS, PaymentStatus, RefundReason
from payments.locks import lock_order
from payments.models import Discrepancy, Payment, Refund
from payments.services.refunds import refund_create_in_transaction, refundable_amount

logger = logging.getLogger(__name__)


class DiscrepancyRefused(Refusal):
    pass


@logs_with(discrepancy="discrepancy_id", actor="resolved_by")
def discrepancy_resolve(*, discrepancy_id: int, resolved_by, note: str) -> Discrepancy:
    """Finance staff close a discrepancy with a note saying what was done (the row keeps who
    and when: it is its own audit record)."""
    if not note.strip():
        raise DiscrepancyRefused("note_required", "say how the discrepancy was resolved")
    with transaction.atomic():
        discrepancy = Discrepancy.objects.select_for_update().get(pk=discrepancy_id)
        if discrepancy.resolved_at is not None:
            raise DiscrepancyRefused("already_resolved", "this discrepancy is already resolved")
        discrepancy.resolved_by = resolved_by
        discrepancy.resolved_at = timezone.now()
        discrepancy.resolution = note.strip()
        discrepancy.save(update_fields=["resolved_by", "resolved_at", "resolution"])
    logger.info(
        "discrepancy resolved: discrepancy=%s channel=%s out_trade_no=%s by=%s",
        discrepancy.pk,
        discrepancy.channel,
        discrepancy.out_trade_no,
        resolved_by,
    )
    return discrepancy


def scan_unrefunded_extra_successes(*, actor: Actor) -> int:
    """Safety net: a successful payment that did not win its order must have an automatic
    refund (DUPLICATE_PAYMENT if the order was paid by another, ORDER_CLOSED if it closed).
    payment_apply_channel_result creates it in the same transaction, so this should find
    nothing; when it does, it refunds and logs loudly. Returns how many it fixed."""
    automatic_refund = Refund.objects.filter(
        payment=OuterRef("pk"), reason__in=AUTOMATIC_REFUND_REASONS
    )
    suspects = (
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
        .filter(Q(order__status=OrderStatus.CLOSED) | Q(order__status__in=PAID_ORDER_STATUSES))
        .exclude(won_order__isnull=False)
        .filter(~Exists(automatic_refund))
        .values_list("pk", "order_id")
    )
    fixed = 0
    for payment_id, order_id in suspects:
        with transaction.atomic():
            order = lock_order(order_id)
            payment = Payment.objects.select_for_update().get(pk=payment_id)
            remaining = refundable_amount(payment)
            if order.paid_payment_id == payment.pk or remaining == 0:
                continue
            if payment.refunds.filter(reason__in=AUTOMATIC_REFUND_REASONS).exists():
                continue
            reason = (
                RefundReason.ORDER_CLOSED
                if order.status == OrderStatus.CLOSED
                else RefundReason.DUPLICATE_PAYMENT
            )
            refund_create_in_transaction(
                payment=payment,
                amount=remaining,
                reason=reason,
                actor=actor,
                note="safety-net scan: extra success had no refund",
            )
        fixed += 1
        logger.error(
            "SAFETY NET: extra success without refund, refund created: order=%s payment=%s "
            "reason=%s",
            order_id,
            payment_id,
            reason,
        )
    return fixed
