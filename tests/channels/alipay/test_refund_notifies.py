"""Alipay's refund notifies, on the emulator process through the live inbox: a refund whose answer
was lost is settled by its notify (which names the refund by out_biz_no and carries the trade's
refunded total, not the refund's amount), and the TRADE_CLOSED of a full refund never moves the
paid payment back."""

import pytest

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.channels import get_channel
from payments.enums import NotificationOutcome, PaymentStatus, RefundStatus, TransactionSource
from payments.models import ChannelNotification, Payment, Refund
from payments.services.attempts import payment_start
from payments.services.refunds import refund_execute
from payments.services.results import payment_apply_channel_result
from tests.factories import make_order, refund_of
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = Actor(ActorKind.CUSTOMER, "alipay-refund-notifies")
JOB = Actor(ActorKind.SYSTEM, "alipay-refund-notifies")
REFUND = "alipay.trade.refund"
REFUND_QUERY = "alipay.trade.fastpay.refund.query"
# The emulator refunds, then answers after the adapter's 2 s timeout: the answer is lost.
ANSWER_LOST = {"api_hang_rate": {"refund": 1}, "hang_long_ms": 3000}


def paid(merchant, alipay, amount=1000) -> Payment:
    order = make_order(merchant, amount=amount)
    payment = payment_start(order_id=order.pk, channel="alipay", client="pc", actor=CUSTOMER)
    assert alipay.pay(payment.out_trade_no).ok
    wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID, what="paid")
    return Payment.objects.get(pk=payment.pk)


def executed_with_its_answer_lost(alipay, refund: Refund) -> None:
    """The refund is sent once and its answer never arrives (whatever settles it is not the
    answer: the notify, arriving meanwhile, may already have)."""
    alipay.set_faults(ANSWER_LOST)
    refund_execute(refund_id=refund.pk, actor=JOB)
    alipay.reset_faults()
    assert [call["fault"] for call in alipay.calls(REFUND, refund.out_refund_no)] == ["hang"]


def refund_status(refund: Refund) -> str:
    return Refund.objects.get(pk=refund.pk).status


def notify_of(refund: Refund) -> ChannelNotification:
    (notify,) = [
        stored
        for stored in ChannelNotification.objects.all()
        if f"out_biz_no={refund.out_refund_no}".encode() in bytes(stored.body)
    ]
    return notify


def test_a_refund_whose_answer_is_lost_is_settled_by_its_notify(merchant, alipay, callbacks_to):
    payment = paid(merchant, alipay)
    first = refund_of(payment, 300)
    assert refund_execute(refund_id=first.pk, actor=JOB).status == RefundStatus.SUCCEEDED
    second = refund_of(payment, 500)

    executed_with_its_answer_lost(alipay, second)

    wait_for(lambda: refund_status(second) == RefundStatus.SUCCEEDED, what="settled by notify")
    # the notify did it; it said 8.00 refunded in all: the first's 3.00 and this one's 5.00
    assert notify_of(second).outcome == NotificationOutcome.APPLIED
    assert alipay.calls(REFUND_QUERY, second.out_refund_no) == []  # nobody had to ask
    assert Order.objects.get(pk=payment.order_id).refunded_amount == 800
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_the_trade_closed_of_a_full_refund_settles_it_and_never_the_payment(
    merchant, alipay, callbacks_to
):
    payment = paid(merchant, alipay)
    refund = refund_of(payment, payment.amount)

    executed_with_its_answer_lost(alipay, refund)

    wait_for(lambda: refund_status(refund) == RefundStatus.SUCCEEDED, what="settled by notify")
    closing = notify_of(refund)
    assert closing.outcome == NotificationOutcome.APPLIED
    assert b"trade_status=TRADE_CLOSED" in bytes(closing.body)
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.REFUNDED
    # and Alipay's own word for the trade now, TRADE_CLOSED, moves nothing back
    closed = get_channel("alipay").query_trade(payment.trade_ref)
    payment_apply_channel_result(result=closed, source=TransactionSource.QUERY, actor=JOB)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.REFUNDED
