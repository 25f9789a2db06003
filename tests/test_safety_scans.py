"""Safety-net scans: they should find nothing; a broken state (made here by writing rows
directly, bypassing the services) is found, refunded and logged loudly."""

import pytest

from orders.enums import OrderStatus
from orders.models import Order
from payments.enums import PaymentStatus, RefundReason
from payments.models import Payment, Refund
from reconciliation.tasks import scan_unrefunded_extra_successes
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def success(order, channel="sandbox"):
    return Payment.objects.create(
        order=order,
        channel=channel,
        amount=order.amount,
        currency=order.currency,
        status=PaymentStatus.SUCCEEDED,
    )


def test_a_paid_order_with_an_unrefunded_second_success_gets_its_refund(merchant, caplog):
    order = make_order(merchant)
    winner, extra = success(order), success(order, "sandbox_card")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID, paid_payment=winner)

    assert scan_unrefunded_extra_successes() == 1

    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason, refund.amount) == (
        extra.pk,
        RefundReason.DUPLICATE_PAYMENT,
        extra.amount,
    )
    assert "SAFETY NET" in caplog.text
    assert scan_unrefunded_extra_successes() == 0


def test_a_closed_order_with_a_success_gets_an_order_closed_refund(merchant):
    order = make_order(merchant)
    paid = success(order)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CLOSED)

    assert scan_unrefunded_extra_successes() == 1

    assert Refund.objects.get(payment=paid).reason == RefundReason.ORDER_CLOSED


def test_a_healthy_database_has_nothing_to_fix(merchant):
    order = make_order(merchant)
    winner = success(order)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID, paid_payment=winner)
    refunded = success(order, "sandbox_card")
    Refund.objects.create(
        payment=refunded, amount=refunded.amount, currency="CNY", reason="DUPLICATE_PAYMENT"
    )

    assert scan_unrefunded_extra_successes() == 0
    assert Refund.objects.count() == 1


def test_an_extra_success_already_refunded_by_hand_is_left_alone(merchant):
    order = make_order(merchant)
    winner, extra = success(order), success(order, "sandbox_card")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID, paid_payment=winner)
    Refund.objects.create(payment=extra, amount=extra.amount, currency="CNY", reason="MANUAL")

    assert scan_unrefunded_extra_successes() == 0
