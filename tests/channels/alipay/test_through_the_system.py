"""Alipay through the whole system, on the emulator process: its real signed notifies reach the
live server's inbox (a pre-created QR closed before the scan, superseded and paid after another
channel, is refunded once: tests/test_cross_channel.py)."""

from urllib.parse import parse_qsl, urlencode

import pytest
import requests

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification
from payments.services.attempts import payment_start
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
