"""Trades that exist at the channel only once the buyer scans (Alipay's pre-created QR codes):
"not found" before time_expire is "not yet", never "closed"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.enums import OrderStatus
from orders.models import Order
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import Payment, Refund
from payments.services.checks import payment_check_now
from tests.factories import make_order, start_payment
from tests.test_duplicate_defences import CUSTOMER, check_everything_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def lazy_channel(sandbox):
    sandbox.set_faults({"lazy_trades": True})
    return sandbox


def test_switching_channel_before_the_buyer_scans_supersedes_the_old_qr(merchant, lazy_channel):
    order = make_order(merchant)
    old = start_payment(order, "sandbox")

    new = start_payment(order, "sandbox_card")  # the old close answers "not found": not yet scanned

    old.refresh_from_db()
    assert old.superseded and old.status == PaymentStatus.PAYING  # still payable, still watched
    assert new.is_open and not new.superseded
    # the customer scans the old QR after all, and pays both
    assert lazy_channel.pay(old.out_trade_no).status_code == 200
    assert lazy_channel.pay(new.out_trade_no).status_code == 200
    for payment in (new, old):
        payment_check_now(payment_id=payment.pk, actor=CUSTOMER)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.paid_payment_id == new.pk
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason) == (old.pk, RefundReason.DUPLICATE_PAYMENT)
    check_everything_due()
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED


def test_a_never_scanned_qr_is_closed_once_its_time_expire_has_passed(
    merchant, lazy_channel, settings
):
    order = make_order(merchant)
    old = start_payment(order, "sandbox")
    start_payment(order, "sandbox_card")
    # the order's deadline (and the channel's time_expire) pass; no one ever scanned the old QR
    past = timezone.now() - timedelta(seconds=settings.CHANNEL_CLOCK_SKEW_SECONDS + 1)
    Order.objects.filter(pk=order.pk).update(expires_at=past)

    check_everything_due()

    old.refresh_from_db()
    assert old.status == PaymentStatus.CLOSED
    assert Payment.objects.filter(order=order, status__in=("UNPAID", "PAYING")).count() == 0
    assert Order.objects.get().status == OrderStatus.CLOSED
