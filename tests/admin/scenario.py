"""A seeded back office: money at risk of every kind, next to rows that are fine.

Rows are written directly: this is the state the system can be in, and the dashboard must count
it exactly (the services that produce such states have their own tests)."""

from datetime import timedelta

from django.utils import timezone

from orders.enums import OrderStatus
from orders.models import Order
from payments.enums import DeliveryStatus, EventType, NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification, Event, Payment, Refund, WebhookDelivery
from reconciliation.models import Discrepancy
from tests.factories import make_order

# What the dashboard must show for the scenario: key -> (count, {currency: minor units}).
EXPECTED = {
    "overdue": (3, {"CNY": 3000, "USD": 250}),
    "flagged": (3, {"CNY": 2300, "JPY": 400}),
    "expired": (0, {}),  # counted in tests/test_payment_checks.py
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


def seed(merchant) -> dict[str, Payment]:
    payments = {
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
    _refunds(payments["settled_flagged"], payments["paid_usd"])
    _callbacks()
    _deliveries(merchant)
    _discrepancies()
    return payments


def _refunds(paid_cny: Payment, paid_usd: Payment) -> None:
    for amount, status, flagged in [
        (100, "PENDING", False),
        (200, "PROCESSING", True),
        (300, "FAILED", True),
        (400, "SUCCEEDED", False),
    ]:
        Refund.objects.create(
            payment=paid_cny,
            amount=amount,
            currency="CNY",
            reason="MANUAL",
            status=status,
            needs_attention=flagged,
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
