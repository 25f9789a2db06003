"""payment_apply_channel_result: every branch of "learn the result", and a race."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order, StatusChange
from payments.channels.base import TradeResult, TradeStatus
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import ChannelTransaction, Discrepancy, Event, Payment, Refund
from payments.services.results import ApplyOutcome, UnknownTrade, payment_apply_channel_result
from tests.factories import make_order, paying_attempt
from tests.helpers import race, success_for

CALLBACK = Actor(ActorKind.CHANNEL_CALLBACK, "test")


def apply(result, source="callback"):
    return payment_apply_channel_result(result=result, source=source, actor=CALLBACK)


def reload(*objects):
    for obj in objects:
        obj.refresh_from_db()


@pytest.mark.django_db
def test_a_success_stores_every_column_it_changes(order):
    # it UPDATEs only those columns: one it forgot would keep its value from before here
    payment = paying_attempt(
        order,
        closing_since=timezone.now(),
        next_check_at=timezone.now(),
        needs_attention=True,
    )
    paid_at = timezone.now() - timedelta(minutes=1)

    apply(success_for(payment, paid_at=paid_at))

    reload(order, payment)
    assert (payment.status, payment.paid_at, payment.channel_trade_no) == (
        PaymentStatus.SUCCEEDED,
        paid_at,
        f"T{payment.out_trade_no}",
    )
    assert (payment.closing_since, payment.next_check_at, payment.needs_attention) == (
        None,
        None,
        False,
    )
    assert (order.status, order.paid_payment_id, order.paid_at) == (
        OrderStatus.PAID,
        payment.pk,
        paid_at,
    )


@pytest.mark.django_db
def test_success_on_an_open_order_pays_it(order):
    payment = paying_attempt(order)

    assert apply(success_for(payment)) == ApplyOutcome.PAID

    reload(order, payment)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.paid_at is not None
    assert order.status == OrderStatus.PAID and order.paid_payment_id == payment.pk
    assert list(ChannelTransaction.objects.values_list("payment", "paid_order")) == [
        (payment.pk, True)
    ]
    assert list(Event.objects.values_list("type", flat=True).order_by("type")) == [
        "order.paid",
        "payment.succeeded",
    ]
    assert not Refund.objects.exists()
    changes = StatusChange.objects.filter(order=order).values_list("entity", "to_status")
    assert ("payment", "SUCCEEDED") in changes and ("order", "PAID") in changes


@pytest.mark.django_db
def test_the_same_success_again_changes_nothing(order):
    payment = paying_attempt(order)
    apply(success_for(payment))

    assert apply(success_for(payment), source="query") == ApplyOutcome.ALREADY_APPLIED

    assert ChannelTransaction.objects.count() == 1
    assert Event.objects.filter(type="order.paid").count() == 1
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_a_second_success_on_a_paid_order_is_refunded_as_duplicate(order):
    first = paying_attempt(order)
    apply(success_for(first))
    # a superseded attempt on another channel also took the money
    second = Payment.objects.create(
        order=order,
        channel="sandbox_card",
        amount=order.amount,
        currency="CNY",
        status=PaymentStatus.PAYING,
        superseded=True,
    )

    assert apply(success_for(second)) == ApplyOutcome.DUPLICATE_REFUNDED

    reload(order, second)
    assert order.paid_payment_id == first.pk
    assert second.status == PaymentStatus.SUCCEEDED
    # the duplicate's transaction is marked as not paying its order: the dashboard's extra
    # successes read only those
    assert dict(ChannelTransaction.objects.values_list("payment", "paid_order")) == {
        first.pk: True,
        second.pk: False,
    }
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.reason, refund.status) == (
        second.pk,
        second.amount,
        RefundReason.DUPLICATE_PAYMENT,
        RefundStatus.PENDING,
    )
    assert Event.objects.filter(type="order.paid").count() == 1


@pytest.mark.django_db
def test_success_on_a_closed_order_is_refunded(order):
    payment = Payment.objects.create(
        order=order, channel="sandbox", amount=order.amount, currency="CNY", status="CLOSED"
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CLOSED)

    assert apply(success_for(payment)) == ApplyOutcome.CLOSED_REFUNDED

    reload(order, payment)
    assert order.status == OrderStatus.CLOSED and order.paid_payment_id is None
    assert payment.status == PaymentStatus.SUCCEEDED
    assert Refund.objects.get().reason == RefundReason.ORDER_CLOSED
    assert not Event.objects.filter(type="order.paid").exists()
    assert ChannelTransaction.objects.get().paid_order is False


MISMATCHES = pytest.mark.parametrize(
    "override", [{"amount": 999}, {"currency": "USD"}], ids=["amount", "currency"]
)


@pytest.mark.django_db
@MISMATCHES
def test_a_callback_reporting_another_amount_changes_nothing_but_asks_the_channel(order, override):
    # a signed notification can still be wrong (or a key leaked): the channel's own record,
    # read by a query, decides
    payment = paying_attempt(order, next_check_at=timezone.now() + timedelta(minutes=5))

    assert apply(success_for(payment, **override)) == ApplyOutcome.MISMATCH

    reload(order, payment)
    assert payment.status == PaymentStatus.PAYING
    assert order.status == OrderStatus.PAYING
    assert payment.next_check_at <= timezone.now()  # checked at once
    assert not ChannelTransaction.objects.exists()
    assert not Event.objects.exists()
    assert not Refund.objects.exists()
    discrepancy = Discrepancy.objects.get()
    assert discrepancy.payment_id == payment.pk
    assert discrepancy.kind in ("AMOUNT_MISMATCH", "CURRENCY_MISMATCH")


@pytest.mark.django_db
@MISMATCHES
def test_a_confirmed_mismatch_refunds_what_was_taken_and_ends_the_attempt(order, override):
    payment = paying_attempt(order)
    taken = success_for(payment, **override)

    assert apply(taken, source="query") == ApplyOutcome.MISMATCH_REFUNDED

    reload(order, payment)
    # the money is real: recorded once, all of it goes back, the order is not paid
    transaction = ChannelTransaction.objects.get()
    assert (transaction.amount, transaction.currency) == (taken.amount, taken.currency)
    assert transaction.paid_order is False
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.currency, refund.reason) == (
        payment.pk,
        taken.amount,
        taken.currency,
        RefundReason.AMOUNT_MISMATCH,
    )
    assert payment.status == PaymentStatus.FAILED and payment.next_check_at is None
    assert order.status == OrderStatus.UNPAID and order.paid_payment_id is None
    assert Discrepancy.objects.get().payment_id == payment.pk
    assert not Event.objects.filter(type="order.paid").exists()
    # the same answer again (a statement line, another query) refunds nothing more
    assert apply(taken, source="statement") == ApplyOutcome.ALREADY_APPLIED
    assert Refund.objects.count() == 1 and Discrepancy.objects.count() == 1


@pytest.mark.django_db
def test_after_a_confirmed_mismatch_the_order_can_still_be_paid(order):
    payment = paying_attempt(order)
    apply(success_for(payment, amount=1), source="query")
    second = paying_attempt(order, channel="sandbox_card")

    assert apply(success_for(second)) == ApplyOutcome.PAID

    reload(order)
    assert order.paid_payment_id == second.pk


@pytest.mark.django_db
@pytest.mark.parametrize("status", [TradeStatus.CLOSED, TradeStatus.PAYING, TradeStatus.UNKNOWN])
def test_a_late_report_never_moves_a_paid_order_backwards(order, status):
    payment = paying_attempt(order)
    apply(success_for(payment))

    outcome = apply(TradeResult(out_trade_no=payment.out_trade_no, status=status))

    assert outcome == ApplyOutcome.NO_CHANGE
    reload(order, payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert order.status == OrderStatus.PAID


@pytest.mark.django_db
def test_a_closed_attempt_returns_the_order_to_unpaid(order):
    payment = paying_attempt(order)

    outcome = apply(TradeResult(out_trade_no=payment.out_trade_no, status=TradeStatus.CLOSED))

    assert outcome == ApplyOutcome.ATTEMPT_ENDED
    reload(order, payment)
    assert payment.status == PaymentStatus.CLOSED
    assert order.status == OrderStatus.UNPAID


@pytest.mark.django_db
def test_a_failed_attempt_is_reported(order):
    payment = paying_attempt(order)

    apply(TradeResult(out_trade_no=payment.out_trade_no, status=TradeStatus.FAILED))

    reload(payment)
    assert payment.status == PaymentStatus.FAILED
    assert Event.objects.filter(type="payment.failed").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [TradeStatus.PAYING, TradeStatus.NOT_FOUND, TradeStatus.UNKNOWN])
def test_waiting_unknown_or_not_found_change_nothing(order, status):
    payment = paying_attempt(order)

    assert apply(TradeResult(out_trade_no=payment.out_trade_no, status=status)) == (
        ApplyOutcome.NO_CHANGE
    )

    reload(order, payment)
    assert (payment.status, order.status) == (PaymentStatus.PAYING, OrderStatus.PAYING)


@pytest.mark.django_db
def test_unknown_trade_is_refused(order):
    with pytest.raises(UnknownTrade):
        apply(TradeResult(out_trade_no="P-never-issued", status=TradeStatus.SUCCEEDED))


@pytest.mark.django_db
def test_a_success_after_the_attempt_was_closed_still_wins_an_open_order(order):
    """The close and the payment crossed at the channel: the money is real."""
    payment = paying_attempt(order)
    apply(TradeResult(out_trade_no=payment.out_trade_no, status=TradeStatus.CLOSED))

    assert apply(success_for(payment)) == ApplyOutcome.PAID

    reload(order)
    assert order.status == OrderStatus.PAID and order.paid_payment_id == payment.pk


@pytest.mark.django_db(transaction=True)
def test_the_same_success_applied_from_twenty_threads_pays_once(merchant):
    # given one open payment and its channel's success
    order = make_order(merchant)
    payment = paying_attempt(order)
    result = success_for(payment)

    # when twenty callbacks race
    outcomes = race(lambda _: apply(result), 20)

    # then exactly one transaction, one event, one winner
    assert sorted(map(str, outcomes)) == ["ALREADY_APPLIED"] * 19 + ["PAID"]
    assert ChannelTransaction.objects.count() == 1
    assert Event.objects.filter(type="order.paid").count() == 1
    assert Order.objects.get().paid_payment_id == payment.pk
    assert not Refund.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_channels_succeeding_at_once_make_one_winner_and_one_refund(merchant):
    order = make_order(merchant)
    first = paying_attempt(order)
    second = Payment.objects.create(
        order=order,
        channel="sandbox_card",
        amount=order.amount,
        currency="CNY",
        status=PaymentStatus.PAYING,
        superseded=True,
    )

    outcomes = race(lambda i: apply(success_for([first, second][i % 2])), 10)

    assert sorted(map(str, outcomes)).count("PAID") == 1
    assert sorted(map(str, outcomes)).count("DUPLICATE_REFUNDED") == 1
    order.refresh_from_db()
    loser = second if order.paid_payment_id == first.pk else first
    assert Refund.objects.get().payment_id == loser.pk
    assert dict(ChannelTransaction.objects.values_list("payment", "paid_order")) == {
        order.paid_payment_id: True,
        loser.pk: False,
    }
