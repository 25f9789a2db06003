"""A merchant refunds an order: the money goes back from the payment that paid it."""

from orders.audit import Actor
from orders.log_context import logs_with
from orders.models import Order
from payments.enums import RefundReason
from payments.models import Refund
from payments.services.refunds import RefundRefused, refund_request


@logs_with(order="order_id", actor="actor")
def order_refund_request(*, order_id: str, amount: int, actor: Actor, note: str = "") -> Refund:
    """Refund (part of) what the order's winning payment took. The winner never changes once
    set, so it is read before refund_request takes the order and payment row locks."""
    paid_payment_id = Order.objects.values_list("paid_payment_id", flat=True).get(pk=order_id)
    if paid_payment_id is None:
        raise RefundRefused("order_not_paid", "only a paid order can be refunded")
    return refund_request(
        payment_id=paid_payment_id,
        amount=amount,
        reason=RefundReason.MERCHANT_REQUEST,
        actor=actor,
        note=note,
    )
