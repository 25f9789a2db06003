"""A customer who is shown the Alipay QR, switches to WeChat Pay (or the sandbox) and pays both
is refunded once, automatically, at the channel that lost: across the channels' own processes
(the two emulators, the sandbox) running as servers, their signed notifications reaching a live
server's inbox.

Alipay's pre-created trade does not exist until the QR is scanned, so switching away cannot
close it (ACQ.TRADE_NOT_EXIST): the attempt is superseded and stays payable until time_expire.
Whichever of the two payments the order learns second is the duplicate."""

import pytest

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.channels import get_channel
from payments.channels.base import RefundResultStatus
from payments.enums import EventType, PaymentStatus, RefundReason, RefundStatus
from payments.models import Event, Payment, Refund
from payments.services.attempts import payment_start
from payments.tasks import refunds_execute_due
from tests.conftest import wechatpay_channel
from tests.factories import make_order
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = Actor(ActorKind.CUSTOMER, "cross-channel")
# How each channel's own query says a trade was paid and never refunded.
UNREFUNDED = {
    "alipay": ("trade_status", "TRADE_SUCCESS"),
    "wechatpay": ("trade_state", "SUCCESS"),
    "sandbox": ("refunded_amount", 0),
}


@pytest.fixture
def channels(alipay, sandbox, wechatpay_process, settings, callbacks_to):
    """Channel code -> its server process: `alipay`, `wechatpay` and `sandbox` registered,
    calling back the live server."""
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "wechatpay": wechatpay_channel(wechatpay_process),
    }
    wechatpay_process.reset_faults()
    yield {"alipay": alipay, "wechatpay": wechatpay_process, "sandbox": sandbox}
    wechatpay_process.reset_faults()


def buyer_pays(channels, payment: Payment) -> None:
    server = channels[payment.channel]
    if payment.channel == "alipay":  # the buyer scans the QR first: now the trade exists
        assert server.open_qr(payment.pay_action["qr_content"]).ok
    assert server.pay(payment.out_trade_no).ok


def refunded_automatically() -> Refund | None:
    refunds_execute_due()  # the janitor, as the pump runs it every second
    refund = Refund.objects.first()
    return refund if refund and refund.status == RefundStatus.SUCCEEDED else None


@pytest.mark.parametrize("alipay_paid_first", [False, True], ids=["other_first", "alipay_first"])
@pytest.mark.parametrize("other", ["wechatpay", "sandbox"])
def test_paying_the_alipay_qr_and_another_channel_is_refunded_once_at_the_one_paid_second(
    merchant, channels, other, alipay_paid_first
):
    order = make_order(merchant, amount=2599)
    qr = payment_start(order_id=order.pk, channel="alipay", client="pc", actor=CUSTOMER)
    switched = payment_start(order_id=order.pk, channel=other, client="pc", actor=CUSTOMER)
    qr.refresh_from_db()
    assert (qr.superseded, qr.status) == (True, PaymentStatus.PAYING)  # still payable
    winner, loser = (qr, switched) if alipay_paid_first else (switched, qr)

    buyer_pays(channels, winner)
    wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID, what="paid")
    buyer_pays(channels, loser)
    wait_for(
        lambda: Payment.objects.get(pk=loser.pk).status == PaymentStatus.SUCCEEDED,
        what="the second payment learned",
    )
    refund = wait_for(refunded_automatically, what="the duplicate refunded")

    # the order is paid once, by the payment it learned first
    order.refresh_from_db()
    assert (order.status, order.paid_payment_id, order.refunded_amount) == (
        OrderStatus.PAID,
        winner.pk,
        0,
    )
    assert Event.objects.filter(type=EventType.ORDER_PAID).count() == 1
    # exactly one refund: the loser's, in full, at the loser's channel
    assert Refund.objects.count() == 1
    assert (refund.payment_id, refund.reason, refund.amount) == (
        loser.pk,
        RefundReason.DUPLICATE_PAYMENT,
        order.amount,
    )
    refunds_execute_due()  # the janitor again changes nothing
    assert Refund.objects.get().attempts == refund.attempts
    # and the channels' own records agree: one refund call, at the loser's channel only
    (call,) = channels[loser.channel].calls(key=refund.out_refund_no)
    assert call["operation"] == "refund"
    assert channels[winner.channel].calls(key=refund.out_refund_no) == []
    at_loser = get_channel(loser.channel).query_refund(refund.refund_ref)
    assert (at_loser.status, at_loser.amount) == (RefundResultStatus.SUCCEEDED, order.amount)
    winner.refresh_from_db()
    at_winner = get_channel(winner.channel).query_trade(winner.trade_ref)
    field, unrefunded = UNREFUNDED[winner.channel]
    assert (at_winner.amount, at_winner.raw[field]) == (order.amount, unrefunded)
