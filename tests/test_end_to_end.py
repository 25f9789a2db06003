"""End to end against the sandbox process: its signed callbacks reach a live server."""

import pytest

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order, StatusChange
from payments.enums import NotificationOutcome, RefundReason, RefundStatus
from payments.models import ChannelNotification, Event, Payment, Refund
from payments.services.attempts import payment_start
from payments.services.order_closing import order_close
from payments.tasks import refund_execute
from tests.factories import make_order
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = Actor(ActorKind.CUSTOMER, "e2e")


def order_status(order_id):
    return Order.objects.get(pk=order_id).status


def test_buyer_pays_and_the_signed_callback_marks_the_order_paid(merchant, sandbox, callbacks_to):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=CUSTOMER)

    assert sandbox.pay(payment.out_trade_no).status_code == 200

    wait_for(lambda: order_status(order.pk) == OrderStatus.PAID)
    order.refresh_from_db()
    assert order.paid_payment_id == payment.pk
    notification = ChannelNotification.objects.get()
    assert notification.outcome == NotificationOutcome.APPLIED
    assert notification.signature_valid is True
    delivered = wait_for(
        lambda: [
            n for n in sandbox.notifications(payment.out_trade_no) if n["status"] == "delivered"
        ]
    )
    assert len(delivered) == 1
    trail = list(
        StatusChange.objects.filter(order=order).values_list(
            "entity", "from_status", "to_status", "actor_kind"
        )
    )
    assert trail == [
        ("order", "", "UNPAID", "PARTNER_API"),
        ("payment", "", "UNPAID", "CUSTOMER"),
        ("order", "UNPAID", "PAYING", "CUSTOMER"),
        ("payment", "UNPAID", "PAYING", "CUSTOMER"),
        ("payment", "PAYING", "SUCCEEDED", "CHANNEL_CALLBACK"),
        ("order", "PAYING", "PAID", "CHANNEL_CALLBACK"),
    ]
    assert Event.objects.filter(type="order.paid").count() == 1


def test_paying_on_two_channels_refunds_the_second_at_the_channel(merchant, sandbox, callbacks_to):
    order = make_order(merchant)
    first = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=CUSTOMER)
    # the close and the buyer's payment cross at the channel: the closed QR still takes money
    sandbox.set_faults({"pay_after_expire": True})
    second = payment_start(order_id=order.pk, channel="sandbox_card", client="pc", actor=CUSTOMER)
    assert sandbox.trade(first.out_trade_no)["status"] == "CLOSED"

    assert sandbox.pay(second.out_trade_no).status_code == 200
    wait_for(lambda: order_status(order.pk) == OrderStatus.PAID)
    assert sandbox.pay(first.out_trade_no).status_code == 200
    refund = wait_for(lambda: Refund.objects.first())

    assert (refund.payment_id, refund.reason) == (first.pk, RefundReason.DUPLICATE_PAYMENT)
    assert Order.objects.get().paid_payment_id == second.pk
    refund_execute(refund.pk)
    refund_execute(refund.pk)  # a retried job changes nothing
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert sandbox.trade(first.out_trade_no)["refunded_amount"] == first.amount
    assert sandbox.trade(second.out_trade_no)["refunded_amount"] == 0
    assert Event.objects.filter(type="refund.succeeded").count() == 1
    assert Event.objects.filter(type="order.paid").count() == 1


def test_a_payment_after_the_order_closed_is_refunded(merchant, sandbox, callbacks_to):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=CUSTOMER)
    order_close(order_id=order.pk, actor=Actor(ActorKind.SYSTEM, "expiry"))
    assert sandbox.trade(payment.out_trade_no)["status"] == "CLOSED"
    assert order_status(order.pk) == OrderStatus.CLOSED
    sandbox.set_faults({"pay_after_expire": True})

    assert sandbox.pay(payment.out_trade_no).status_code == 200

    refund = wait_for(lambda: Refund.objects.first())
    assert refund.reason == RefundReason.ORDER_CLOSED
    refund_execute(refund.pk)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert sandbox.refund(refund.out_refund_no)["status"] == "SUCCESS"
    assert order_status(order.pk) == OrderStatus.CLOSED
    assert Payment.objects.get().status == "SUCCEEDED"
    assert Event.objects.filter(type="order.closed").count() == 1
