"""Outbox events and their payloads. event_emit runs inside the caller's transaction."""

from orders.models import Order
from payments.models import Event, Payment, Refund
from payments.timestamps import utc_text
from payments.webhooks.delivery import webhook_deliveries_create


def event_emit(*, merchant_id: str, type: str, payload: dict) -> Event:
    """The event and its webhook deliveries commit (or roll back) with the change they report."""
    return events_emit(merchant_id=merchant_id, events=[(type, payload)])[0]


def events_emit(*, merchant_id: str, events: list[tuple[str, dict]]) -> list[Event]:
    """event_emit for several events of one change, in this order in the feed: one INSERT of
    them all, one of their deliveries."""
    emitted = Event.objects.bulk_create(
        [Event(merchant_id=merchant_id, type=type, payload=payload) for type, payload in events]
    )
    webhook_deliveries_create(merchant_id=merchant_id, events=emitted)
    return emitted


def order_payload(order: Order) -> dict:
    return {
        "id": order.id,
        "merchant_order_no": order.merchant_order_no,
        "status": order.status,
        "amount": order.amount,
        "currency": order.currency,
        "refunded_amount": order.refunded_amount,
        "paid_payment": order.paid_payment_id,
        "paid_at": utc_text(order.paid_at),
    }


def payment_payload(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "order": payment.order_id,
        "channel": payment.channel,
        "out_trade_no": payment.out_trade_no,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "paid_at": utc_text(payment.paid_at),
    }


def refund_payload(refund: Refund) -> dict:
    return {
        "id": refund.id,
        "payment": refund.payment_id,
        "out_refund_no": refund.out_refund_no,
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "reason": refund.reason,
    }
