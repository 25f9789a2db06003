"""Each invariant of the domain model is enforced by PostgreSQL: violated → IntegrityError."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders.models import Order
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import ChannelNotification, ChannelTransaction, Payment, Refund
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def new_payment(order, **fields):
    defaults = {"order": order, "channel": "sandbox", "amount": order.amount, "currency": "CNY"}
    return Payment.objects.create(**{**defaults, **fields})


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_merchant_order_no_is_unique_per_merchant(merchant):
    order = make_order(merchant, merchant_order_no="A-1")
    refused(
        lambda: Order.objects.create(
            merchant=merchant,
            merchant_order_no="A-1",
            amount=5,
            currency="CNY",
            subject="x",
            expires_at=order.expires_at,
        )
    )


def test_order_amount_must_be_positive(merchant):
    refused(
        lambda: Order.objects.create(
            merchant=merchant,
            merchant_order_no="zero",
            amount=0,
            currency="CNY",
            subject="x",
            expires_at=timezone.now(),
        )
    )


def test_paid_order_must_name_its_winner(order):
    refused(lambda: Order.objects.filter(pk=order.pk).update(status="PAID"))


def test_out_trade_no_is_unique(order):
    first = new_payment(order, status=PaymentStatus.CLOSED)
    refused(lambda: new_payment(order, out_trade_no=first.out_trade_no))


def test_one_open_attempt_per_order(order):
    new_payment(order, status=PaymentStatus.PAYING)
    refused(lambda: new_payment(order, status=PaymentStatus.UNPAID, channel="sandbox_card"))


def test_superseded_and_ended_attempts_do_not_count_as_open(order):
    new_payment(order, status=PaymentStatus.PAYING, superseded=True)
    new_payment(order, status=PaymentStatus.CLOSED)
    new_payment(order, status=PaymentStatus.PAYING)
    assert order.payments.count() == 3


def test_one_winning_payment_per_order(merchant):
    first, second = make_order(merchant), make_order(merchant)
    payment = new_payment(first, status=PaymentStatus.SUCCEEDED)
    Order.objects.filter(pk=first.pk).update(status="PAID", paid_payment=payment)
    refused(lambda: Order.objects.filter(pk=second.pk).update(status="PAID", paid_payment=payment))


def test_payment_amount_must_be_positive(order):
    refused(lambda: new_payment(order, amount=-1))


def test_channel_trade_no_is_unique_per_channel(order):
    payment = new_payment(order, status=PaymentStatus.SUCCEEDED)

    def transaction_row(trade_no):
        return ChannelTransaction.objects.create(
            channel="sandbox",
            channel_trade_no=trade_no,
            out_trade_no=payment.out_trade_no,
            payment=payment,
            amount=payment.amount,
            currency="CNY",
            source="callback",
        )

    transaction_row("T1")
    refused(lambda: transaction_row("T1"))
    # the same trade number on another channel is another trade
    ChannelTransaction.objects.create(
        channel="sandbox_card",
        channel_trade_no="T1",
        out_trade_no=payment.out_trade_no,
        payment=payment,
        amount=payment.amount,
        currency="CNY",
        source="query",
    )


def test_a_transaction_row_that_does_not_say_it_paid_its_order_counts_as_extra(order):
    # as the previous release writes it while the column is being added: it names no paid_order
    payment = new_payment(order, status=PaymentStatus.SUCCEEDED)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_channeltransaction (channel, channel_trade_no, out_trade_no, "
            "payment_id, amount, currency, status, source, raw, created_at) "
            "VALUES ('sandbox', 'T1', %s, %s, %s, 'CNY', 'SUCCEEDED', 'callback', '{}', now())",
            [payment.out_trade_no, payment.pk, payment.amount],
        )

    assert ChannelTransaction.objects.get().paid_order is False


def test_payment_channel_trade_no_is_unique_per_channel(merchant):
    new_payment(make_order(merchant), status=PaymentStatus.PAYING, channel_trade_no="X9")
    refused(
        lambda: new_payment(
            make_order(merchant), status=PaymentStatus.PAYING, channel_trade_no="X9"
        )
    )


def new_refund(payment, **fields):
    defaults = {
        "payment": payment,
        "amount": 100,
        "currency": "CNY",
        "reason": RefundReason.MERCHANT_REQUEST,
    }
    return Refund.objects.create(**{**defaults, **fields})


def test_out_refund_no_is_unique(order):
    payment = new_payment(order, status=PaymentStatus.SUCCEEDED)
    first = new_refund(payment)
    refused(lambda: new_refund(payment, out_refund_no=first.out_refund_no))


def test_refund_amount_must_be_positive(order):
    payment = new_payment(order, status=PaymentStatus.SUCCEEDED)
    refused(lambda: new_refund(payment, amount=0))


def test_one_automatic_refund_per_payment(order):
    payment = new_payment(order, status=PaymentStatus.SUCCEEDED)
    new_refund(payment, reason=RefundReason.DUPLICATE_PAYMENT)
    refused(lambda: new_refund(payment, reason=RefundReason.ORDER_CLOSED))
    # manual and merchant refunds are not limited by it
    new_refund(payment, reason=RefundReason.MANUAL)
    new_refund(payment, reason=RefundReason.MERCHANT_REQUEST, status=RefundStatus.FAILED)


def test_notification_nonce_is_accepted_once_per_channel(db):
    ChannelNotification.objects.create(channel="sandbox", body=b"{}", accepted_nonce="n1")
    refused(
        lambda: ChannelNotification.objects.create(
            channel="sandbox", body=b"{}", accepted_nonce="n1"
        )
    )
    # unverified rows (no accepted nonce) are all kept
    ChannelNotification.objects.create(channel="sandbox", body=b"{}")
    ChannelNotification.objects.create(channel="sandbox", body=b"{}")


def test_statuses_outside_the_enums_are_refused(order):
    refused(lambda: Order.objects.filter(pk=order.pk).update(status="LOST"))
    payment = new_payment(order)
    refused(lambda: Payment.objects.filter(pk=payment.pk).update(status="MAYBE"))
