"""A seeded back office: money at risk of every kind, next to rows that are fine.

Rows are written directly: this is the state the system can be in, and the dashboard must count
it exactly (the services that produce such states have their own tests)."""

from datetime import timedelta

from django.utils import timezone

from orders.enums import OrderStatus
from orders.models import Order
from payments.enums import DeliveryStatus, EventType, NotificationOutcome, PaymentStatus
from payments.models import (
    ChannelNotification,
    ChannelTransaction,
    Discrepancy,
    Event,
    Payment,
    PaymentCheck,
    Refund,
    WebhookDelivery,
)
from tests.factories import make_order

# What the dashboard must show for the scenario: key -> (count, {currency: minor units}).
EXPECTED = {
    "payments_unknown": (3, {"CNY": 3000, "JPY": 400}),
    "payments_paid_not_applied": (1, {"CNY": 300}),
    "payments_abandoned": (1, {}),  # shown, never totalled: the channel says no money moved
    "extra_successes": (1, {"USD": 800}),
    "refunds_pending": (3, {"CNY": 300, "USD": 75}),
    "refunds_failed": (1, {"CNY": 300}),
    "refunds_flagged": (2, {"CNY": 500}),
    "callbacks_unprocessed": (1, {}),
    "callbacks_rejected": (2, {}),
    "callbacks_dead": (1, {}),
    "webhooks_dead": (2, {}),
    "discrepancies_open": (2, {}),
}
STUCK_TOTAL = 5  # overdue or flagged
HTTP_503 = "GET /v1/trades/P1: HTTP 503"
REFUND_UNKNOWN = "POST /v1/refunds: timed out"


def aged(instance, field: str, seconds: float):
    """Backdate an auto-now timestamp, as if the row had been written `seconds` ago."""
    when = timezone.now() - timedelta(seconds=seconds)
    type(instance).objects.filter(pk=instance.pk).update(**{field: when})
    setattr(instance, field, when)
    return instance


def payment(merchant, *, amount, currency="CNY", status=PaymentStatus.PAYING, age=0, **extra):
    order = make_order(merchant, amount=amount, currency=currency)
    if status in (PaymentStatus.UNPAID, PaymentStatus.PAYING):
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAYING)
    created = Payment.objects.create(
        order=order,
        channel=extra.pop("channel", "sandbox"),
        amount=amount,
        currency=currency,
        status=status,
        channel_trade_no=extra.pop("channel_trade_no", None),
        **extra,
    )
    return aged(created, "created_at", age)


def check(payment, answer: str, *, ago: float, call="query", error="", outcome="NO_CHANGE"):
    """What the channel said about a payment `ago` seconds ago (a query or a close)."""
    return PaymentCheck.objects.create(
        payment=payment,
        call=call,
        actor_kind="JOB",
        answer=answer,
        outcome=outcome,
        error=error,
        asked_at=timezone.now() - timedelta(seconds=ago),
    )


def seed(merchant) -> dict[str, Payment]:
    payments = _payments(merchant)
    _checks(payments)
    _transactions(payments)
    _refunds(payments["settled_flagged"], payments["paid_usd"])
    _callbacks()
    _deliveries(merchant)
    _discrepancies()
    return payments


def _payments(merchant) -> dict[str, Payment]:
    return {
        "overdue_cny": payment(merchant, amount=1000, age=5 * 60, channel_trade_no="SBXCNY1"),
        "overdue_usd": payment(merchant, amount=250, currency="USD", age=3 * 3600),
        "fresh": payment(merchant, amount=700, age=30),
        "flagged_fresh": payment(merchant, amount=300, age=60, needs_attention=True),
        "overdue_flagged": payment(
            merchant, amount=2000, age=10 * 60, needs_attention=True, channel="sandbox_card"
        ),
        "unpaid_flagged": payment(
            merchant,
            amount=400,
            currency="JPY",
            status=PaymentStatus.UNPAID,
            age=20 * 60,
            needs_attention=True,
        ),
        "settled_flagged": payment(
            merchant, amount=5000, status=PaymentStatus.SUCCEEDED, age=3600, needs_attention=True
        ),
        "closed": payment(merchant, amount=900, status=PaymentStatus.CLOSED, age=7200),
        "paid_usd": payment(merchant, amount=800, currency="USD", status=PaymentStatus.SUCCEEDED),
    }


def _checks(payments) -> None:
    # unknown: the channel did not answer (the latest check counts, not the first)
    check(payments["overdue_cny"], "PAYING", ago=200)
    check(payments["overdue_cny"], "UNKNOWN", ago=100, error=HTTP_503)
    # abandoned: the channel says it is waiting for the buyer
    check(payments["overdue_usd"], "PAYING", ago=3600)
    check(payments["overdue_usd"], "PAYING", ago=60)
    # paid at the channel, not applied here (its answer did not match, say)
    check(payments["flagged_fresh"], "SUCCEEDED", ago=30, outcome="MISMATCH")
    # a close whose result is unknown, twice, after a waiting answer
    check(payments["overdue_flagged"], "PAYING", ago=300)
    check(payments["overdue_flagged"], "UNKNOWN", ago=200, call="close", error="timed out")
    check(payments["overdue_flagged"], "UNKNOWN", ago=100, call="close", error="timed out")
    # unpaid_flagged was never asked: unknown
    check(payments["fresh"], "PAYING", ago=10)


def _transactions(payments) -> None:
    """The settled payment won its order; the USD one took money for an order it did not pay
    (an extra success), and its refund is only pending."""
    winner = payments["settled_flagged"]
    Order.objects.filter(pk=winner.order_id).update(status=OrderStatus.PAID, paid_payment=winner)
    for paid in (winner, payments["paid_usd"]):
        ChannelTransaction.objects.create(
            channel=paid.channel,
            channel_trade_no=f"T{paid.pk}",
            out_trade_no=paid.out_trade_no,
            payment=paid,
            amount=paid.amount,
            currency=paid.currency,
            source="query",
            paid_order=paid is winner,
        )


def _refunds(paid_cny: Payment, paid_usd: Payment) -> None:
    for amount, status, flagged, error in [
        (100, "PENDING", False, ""),
        (200, "PROCESSING", True, REFUND_UNKNOWN),
        (300, "FAILED", True, "NOT_ENOUGH_BALANCE: the merchant balance is too low"),
        (400, "SUCCEEDED", False, ""),
    ]:
        Refund.objects.create(
            payment=paid_cny,
            amount=amount,
            currency="CNY",
            reason="MANUAL",
            status=status,
            needs_attention=flagged,
            last_error=error,
        )
    Refund.objects.create(
        payment=paid_usd, amount=75, currency="USD", reason="MANUAL", status="PENDING"
    )


def _callbacks() -> None:
    def callback(outcome, age=0, error_code=""):
        row = ChannelNotification.objects.create(
            channel="sandbox", body=b"{}", outcome=outcome, error_code=error_code
        )
        aged(row, "received_at", age)

    callback(NotificationOutcome.RECEIVED, age=60)
    callback(NotificationOutcome.RECEIVED)  # just arrived: its request is processing it
    callback(NotificationOutcome.REJECTED, error_code="bad_signature")
    callback(NotificationOutcome.REJECTED, age=3600, error_code="stale")
    callback(NotificationOutcome.APPLIED, age=60)
    callback(NotificationOutcome.DEAD, age=7200)  # processing failed on every try


def _deliveries(merchant) -> None:
    event = Event.objects.create(merchant=merchant, type=EventType.ORDER_PAID, payload={})
    for i, status in enumerate(
        [DeliveryStatus.DEAD, DeliveryStatus.DEAD, DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]
    ):
        WebhookDelivery.objects.create(
            event=event, endpoint_url=f"https://partner.example/hooks/{i}", status=status
        )


def _discrepancies() -> None:
    for kind in ("AMOUNT_MISMATCH", "MISSING_HERE"):
        Discrepancy.objects.create(channel="sandbox", kind=kind, out_trade_no="P1", details={})
    Discrepancy.objects.create(
        channel="sandbox", kind="STATUS_MISMATCH", resolved_at=timezone.now(), details={}
    )
