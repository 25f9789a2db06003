"""The objects tests start from, made through the services (or, for states no service makes
directly, as plain rows), in one place."""

from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from orders.services import order_create
from payments.enums import PaymentStatus, RefundReason
from payments.models import Payment, Refund
from payments.services.attempts import payment_start
from payments.services.checks import payment_check_now
from payments.services.refunds import refund_request

TESTS = Actor(ActorKind.PARTNER_API, "tests")


def make_order(merchant, *, amount=1000, currency="CNY", expires_in=1800, **extra) -> Order:
    order, _ = order_create(
        merchant=merchant,
        merchant_order_no=extra.pop("merchant_order_no", f"mo-{timezone.now().timestamp()}"),
        amount=amount,
        currency=currency,
        subject=extra.pop("subject", "Test order"),
        expires_in=expires_in,
        actor=TESTS,
    )
    return order


def start_payment(order, channel="sandbox", client="pc", actor=TESTS) -> Payment:
    """The customer picks a channel: the attempt and its trade at the channel."""
    return payment_start(order_id=order.pk, channel=channel, client=client, actor=actor)


def paid_payment(merchant, sandbox, amount=1000, channel="sandbox") -> Payment:
    """A payment the buyer paid at the sandbox, learned by a query (as the checks would)."""
    payment = start_payment(make_order(merchant, amount=amount), channel)
    sandbox.pay(payment.out_trade_no)
    payment_check_now(payment_id=payment.pk, actor=TESTS)
    payment.refresh_from_db()
    return payment


def paying_attempt(order, channel="sandbox", **fields) -> Payment:
    """An open attempt as a row only (no channel behind it), its order PAYING."""
    payment = Payment.objects.create(
        order=order,
        channel=channel,
        amount=order.amount,
        currency=order.currency,
        status=PaymentStatus.PAYING,
        **fields,
    )
    Order.objects.filter(pk=order.pk, status=OrderStatus.UNPAID).update(status=OrderStatus.PAYING)
    return payment


def refund_of(payment, amount, reason=RefundReason.MERCHANT_REQUEST, actor=TESTS) -> Refund:
    return refund_request(payment_id=payment.pk, amount=amount, reason=reason, actor=actor)
