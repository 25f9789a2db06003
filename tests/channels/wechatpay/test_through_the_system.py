"""WeChat Pay through the whole system: the emulator's real signed, encrypted callbacks reach
the inbox of a live server and settle payments and refunds; a forged one changes nothing."""

import json

import pytest
from django.test import Client

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import NotificationOutcome, RefundReason, RefundStatus
from payments.models import ChannelNotification, Payment, Refund
from payments.services.attempts import payment_start
from payments.services.refunds import refund_execute, refund_request
from payments.tasks import refunds_execute_due
from tests.factories import make_order
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = Actor(ActorKind.CUSTOMER, "wechatpay")
JOB = Actor(ActorKind.SYSTEM, "wechatpay")


def order_status(order_id):
    return Order.objects.get(pk=order_id).status


def paid(merchant, wechatpay) -> Payment:
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="wechatpay", client="pc", actor=CUSTOMER)
    assert wechatpay.pay(payment.out_trade_no).status_code == 200
    wait_for(lambda: order_status(order.pk) == OrderStatus.PAID, what="order paid")
    return Payment.objects.get(pk=payment.pk)


def delivered(wechatpay, subject):
    return [n for n in wechatpay.notifications(subject) if n["status"] == "delivered"]


def test_the_buyers_payment_is_called_back_and_marks_the_order_paid(
    merchant, wechatpay, callbacks_to
):
    payment = paid(merchant, wechatpay)

    assert payment.status == "SUCCEEDED" and payment.channel_trade_no
    (notification,) = ChannelNotification.objects.all()
    assert (notification.outcome, notification.signature_valid) == (
        NotificationOutcome.APPLIED,
        True,
    )
    # our 204 is WeChat's success: it is not sent again
    assert len(wait_for(lambda: delivered(wechatpay, payment.out_trade_no))) == 1


def test_a_refund_is_settled_by_its_refund_success_callback(merchant, wechatpay, callbacks_to):
    payment = paid(merchant, wechatpay)
    wechatpay.set_faults({"refund_async": True, "refund_async_ms": 300})
    refund = refund_request(
        payment_id=payment.pk, amount=300, reason=RefundReason.MERCHANT_REQUEST, actor=JOB
    )

    assert refund_execute(refund_id=refund.pk, actor=JOB).status == RefundStatus.PROCESSING

    wait_for(
        lambda: Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED,
        what="refund settled",
    )
    assert wechatpay.calls("refund_query", refund.out_refund_no) == []  # the callback did it
    applied = ChannelNotification.objects.filter(outcome=NotificationOutcome.APPLIED)
    assert applied.count() == 2  # the payment's and the refund's


def test_a_forged_callback_is_stored_rejected_and_changes_nothing(
    merchant, wechatpay, callbacks_to
):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="wechatpay", client="pc", actor=CUSTOMER)
    body = json.dumps({"event_type": "TRANSACTION.SUCCESS", "resource": {}}).encode()
    headers = {
        "HTTP_WECHATPAY_TIMESTAMP": "1700000000",
        "HTTP_WECHATPAY_NONCE": "forged",
        "HTTP_WECHATPAY_SIGNATURE": "Zm9yZ2Vk",
        "HTTP_WECHATPAY_SERIAL": wechatpay.manifest["platform_public_key_id"],
    }

    answer = Client().post(
        "/callbacks/wechatpay/", data=body, content_type="application/json", **headers
    )

    # refused in WeChat's own dialect, so WeChat retries and its console shows why
    assert answer.status_code == 400
    assert answer.json()["code"] == "FAIL" and "bad_signature" in answer.json()["message"]
    (notification,) = ChannelNotification.objects.all()
    assert (notification.outcome, notification.error_code) == (
        NotificationOutcome.REJECTED,
        "bad_signature",
    )
    assert Payment.objects.get(pk=payment.pk).status == "PAYING"
    assert order_status(order.pk) == OrderStatus.PAYING


@pytest.mark.parametrize(
    ("settled", "after"),
    [("CLOSED", RefundStatus.FAILED), ("ABNORMAL", RefundStatus.PROCESSING)],
)
def test_a_refund_closed_or_abnormal_is_asked_again_and_only_closed_fails(
    merchant, wechatpay, callbacks_to, settled, after
):
    payment = paid(merchant, wechatpay)
    wechatpay.set_faults({"refund_async": True, "refund_async_ms": 60_000})
    refund = refund_request(
        payment_id=payment.pk,
        amount=payment.amount,
        reason=RefundReason.MERCHANT_REQUEST,
        actor=JOB,
    )
    assert refund_execute(refund_id=refund.pk, actor=JOB).status == RefundStatus.PROCESSING

    wechatpay.settle_refund(refund.out_refund_no, settled)

    wait_for(
        lambda: (
            ChannelNotification.objects.exclude(outcome=NotificationOutcome.RECEIVED).count() == 2
        ),  # the payment's and this one
        what=f"REFUND.{settled} stored and processed",
    )
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PROCESSING  # not believed yet
    assert refunds_execute_due() == 1  # due now: WeChat's own record decides
    assert Refund.objects.get(pk=refund.pk).status == after
