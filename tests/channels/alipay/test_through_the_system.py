"""Alipay through the whole system, on the emulator process: its real signed notifies reach the
live server's inbox, and a pre-created QR closed before the scan stays superseded and watched."""

from urllib.parse import parse_qsl, urlencode

import pytest
import requests

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import NotificationOutcome, PaymentStatus, RefundReason, RefundStatus
from payments.models import ChannelNotification, Payment, Refund
from payments.services.attempts import payment_start
from payments.tasks import refund_execute
from tests.factories import make_order
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = Actor(ActorKind.CUSTOMER, "alipay-e2e")


def order_status(order_id):
    return Order.objects.get(pk=order_id).status


def delivered(alipay, out_trade_no):
    return [n for n in alipay.notifications(out_trade_no) if n["status"] == "delivered"]


def test_a_scanned_and_paid_qr_notifies_and_the_order_is_paid(merchant, alipay, callbacks_to):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="alipay", client="pc", actor=CUSTOMER)
    assert payment.pay_action["type"] == "qr"

    assert alipay.open_qr(payment.pay_action["qr_content"]).ok
    assert alipay.pay(payment.out_trade_no).ok

    wait_for(lambda: order_status(order.pk) == OrderStatus.PAID)
    stored = ChannelNotification.objects.get()
    assert (stored.outcome, stored.signature_valid) == (NotificationOutcome.APPLIED, True)
    # answered in Alipay's dialect (the body exactly "success"), so it is not sent again
    assert len(wait_for(lambda: delivered(alipay, payment.out_trade_no))) == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.channel_trade_no


def test_a_badly_signed_notify_is_stored_rejected_and_changes_nothing(
    merchant, alipay, callbacks_to
):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="alipay", client="pc", actor=CUSTOMER)
    assert alipay.pay(payment.out_trade_no).ok
    wait_for(lambda: order_status(order.pk) == OrderStatus.PAID)
    genuine = ChannelNotification.objects.get()
    fields = dict(parse_qsl(bytes(genuine.body).decode()))
    fields["total_amount"] = "0.01"  # the real notify, its amount changed after signing

    answer = requests.post(
        f"{callbacks_to.url}/callbacks/alipay/",
        data=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        timeout=10,
    )

    assert (answer.status_code, answer.text) == (400, "fail: bad_signature")  # Alipay retries
    rejected = ChannelNotification.objects.exclude(pk=genuine.pk).get()
    assert (rejected.outcome, rejected.error_code) == (
        NotificationOutcome.REJECTED,
        "bad_signature",
    )
    assert rejected.signature_valid is False
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount == order.amount


def test_a_qr_closed_before_the_scan_is_superseded_and_its_late_payment_refunded(
    merchant, alipay, sandbox, callbacks_to
):
    """Alipay answers a close of an unscanned pre-created QR with ACQ.TRADE_NOT_EXIST, and the
    code stays payable until time_expire: the attempt is superseded, not closed, and when the
    buyer pays it after paying another channel, the second payment is refunded once."""
    order = make_order(merchant)
    qr = payment_start(order_id=order.pk, channel="alipay", client="pc", actor=CUSTOMER)
    other = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=CUSTOMER)
    qr.refresh_from_db()
    assert qr.superseded and qr.status == PaymentStatus.PAYING

    assert sandbox.pay(other.out_trade_no).ok
    wait_for(lambda: order_status(order.pk) == OrderStatus.PAID)
    assert alipay.open_qr(qr.pay_action["qr_content"]).ok  # the buyer scans the old code
    assert alipay.pay(qr.out_trade_no).ok

    refund = wait_for(lambda: Refund.objects.first())
    assert (refund.payment_id, refund.reason) == (qr.pk, RefundReason.DUPLICATE_PAYMENT)
    refund_execute(refund.pk)
    refund_execute(refund.pk)  # a retried job changes nothing
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert Refund.objects.count() == 1
    assert Order.objects.get().paid_payment_id == other.pk
    assert Payment.objects.get(pk=qr.pk).status == PaymentStatus.SUCCEEDED
