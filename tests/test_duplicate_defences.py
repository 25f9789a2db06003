"""The paths to a double charge, each made impossible or automatically refunded — on the sandbox
and on the WeChat Pay and Alipay emulators (every scenario once per channel; a scenario with two
channels pairs different ones), with Redis up, and with Redis stopped in the middle of the
scenario (locks, cache and dedup fall back to the database)."""

import json
import secrets
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.channels.base import RefundResultStatus, TradeStatus
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import Event, Payment, Refund
from payments.services.attempts import PaymentRefused
from payments.services.checks import payment_check_now
from payments.services.order_closing import orders_close_expired
from payments.services.scheduler import payments_check_due
from payments.tasks import refunds_execute_due
from tests.factories import make_order, start_payment
from tests.helpers import race, wait_for
from tests.paying_channels import PAIRS, refunds_settled

CUSTOMER = Actor(ActorKind.CUSTOMER, "test")
REDIS = pytest.mark.parametrize("redis_fails", [False, True], ids=["redis-up", "redis-down"])
# the channel under test first, then the one the customer turns to
ON_TWO_CHANNELS = pytest.mark.parametrize("codes", PAIRS, ids=["-then-".join(p) for p in PAIRS])
# test variants of the channels that can close, unable to (SandboxWithoutClose…)
WITHOUT_CLOSE = {
    "sandbox": "tests.channels.SandboxWithoutClose",
    "wechatpay": "tests.channels.WechatpayWithoutClose",
}


def check_everything_due():
    Payment.objects.filter(status__in=("UNPAID", "PAYING")).update(next_check_at=timezone.now())
    payments_check_due(now=timezone.now(), batch=100)
    orders_close_expired(now=timezone.now(), batch=100)
    refunds_execute_due()


def settle_refunds():
    wait_for(lambda: refunds_settled(Refund.objects.all()), what="refunds final")


def expire(order):
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def channel_of(payment, channels):
    return next(channel for channel in channels if channel.code == payment.channel)


def assert_refunded_once_at_the_channel(refund, channels):
    """The refund succeeded here and there, and the channel gave the money back once."""
    payment = refund.payment
    channel = channel_of(payment, channels)
    assert refund.status == RefundStatus.SUCCEEDED
    assert channel.refund_result(refund) == (RefundResultStatus.SUCCEEDED, payment.amount)
    assert channel.refunded(payment.out_trade_no) == payment.amount
    assert Event.objects.filter(type="refund.succeeded").count() == 1


@pytest.mark.django_db(transaction=True)
@REDIS
def test_twenty_concurrent_pay_clicks_make_one_attempt_and_one_trade(
    merchant, paying_channel, redis_server, redis_fails
):
    order = make_order(merchant)
    if redis_fails:
        redis_server.stop()

    results = race(lambda _: start_payment(order, paying_channel.code), 20)

    assert all(isinstance(r, Payment) for r in results), results
    payment = Payment.objects.get()
    assert {r.pk for r in results} == {payment.pk}
    # every click shows the customer the same code, of the one trade at the channel
    shown = {json.dumps(r.pay_action, sort_keys=True) for r in results}
    assert shown == {json.dumps(payment.pay_action, sort_keys=True)}
    assert paying_channel.scan(payment).ok
    assert paying_channel.trade_status(payment) == TradeStatus.PAYING


@pytest.mark.django_db(transaction=True)
@REDIS
@ON_TWO_CHANNELS
def test_paying_on_two_channels_leaves_one_winner_and_one_refund_at_the_channel(
    merchant, paying_channels, callbacks_to, redis_server, redis_fails, codes
):
    old, new = channels = paying_channels(*codes)
    order = make_order(merchant)
    first = start_payment(order, old.code)
    assert old.scan(first).ok  # the buyer opens the code on the phone, then picks another way
    old.set_faults({"pay_after_expire": True})  # the closed first code still takes money
    second = start_payment(order, new.code)
    assert Payment.objects.get(pk=first.pk).status == PaymentStatus.CLOSED
    if redis_fails:
        redis_server.stop()

    assert new.pay(second).ok
    assert old.pay(first).ok
    wait_for(lambda: Refund.objects.exists() and Order.objects.get().status == "PAID")
    refunds_execute_due()
    settle_refunds()

    # whichever callback arrived first won; the other payment went back at its channel
    order.refresh_from_db()
    assert order.paid_payment_id in (first.pk, second.pk)
    winner, loser = (first, second) if order.paid_payment_id == first.pk else (second, first)
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason) == (loser.pk, RefundReason.DUPLICATE_PAYMENT)
    assert_refunded_once_at_the_channel(refund, channels)
    assert channel_of(winner, channels).refunded(winner.out_trade_no) == 0


@pytest.mark.django_db
@REDIS
def test_a_payment_the_channel_accepts_after_expiry_is_refunded(
    merchant, paying_channel, redis_server, redis_fails
):
    paying_channel.set_faults({"notify_drop": 1})
    order = make_order(merchant)
    payment = start_payment(order, paying_channel.code)
    if redis_fails:
        redis_server.stop()
    expire(order)
    check_everything_due()  # expiry closes the trade at the channel, then the order
    assert Order.objects.get().status == OrderStatus.CLOSED
    payment.refresh_from_db()
    if paying_channel.lazy_qr:
        # never scanned, the trade is not at the channel yet: the code stays payable, and the
        # attempt is superseded (still checked) rather than closed
        assert (payment.status, payment.superseded) == (PaymentStatus.PAYING, True)
    else:
        assert payment.status == PaymentStatus.CLOSED

    # the close and the payment crossed at the channel (or the code was still payable)
    paying_channel.set_faults({"notify_drop": 1, "pay_after_expire": True})
    assert paying_channel.pay(payment).ok
    # no callback, and the attempt is closed on our side: a query (or the statement) finds it
    payment_check_now(payment_id=payment.pk, actor=CUSTOMER)
    refunds_execute_due()
    settle_refunds()

    refund = Refund.objects.get()
    assert refund.reason == RefundReason.ORDER_CLOSED
    assert_refunded_once_at_the_channel(refund, [paying_channel])
    assert Order.objects.get().status == OrderStatus.CLOSED


@pytest.mark.django_db
@REDIS
@ON_TWO_CHANNELS
def test_switching_channel_refuses_while_the_old_close_is_unknown(
    merchant, paying_channels, redis_server, redis_fails, codes
):
    old_channel, new_channel = paying_channels(*codes)
    order = make_order(merchant)
    old = start_payment(order, old_channel.code)
    assert old_channel.scan(old).ok  # the trade exists at the channel: only its close can end it
    if redis_fails:
        redis_server.stop()
    old_channel.set_faults({"close_unknown_rate": 1})

    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order, new_channel.code)
    assert refusal.value.code == "payment_in_progress"

    old_channel.reset_faults()
    new = start_payment(order, new_channel.code)
    assert new.channel == new_channel.code
    assert old_channel.trade_status(old) == TradeStatus.CLOSED
    assert Payment.objects.get(pk=old.pk).status == PaymentStatus.CLOSED


@pytest.mark.django_db
@REDIS
@ON_TWO_CHANNELS
def test_a_refund_failing_then_recovering_succeeds_exactly_once(
    merchant, paying_channels, redis_server, redis_fails, codes
):
    old_channel, new_channel = channels = paying_channels(*codes)
    order = make_order(merchant)
    first = start_payment(order, old_channel.code)
    assert old_channel.scan(first).ok
    old_channel.set_faults({"pay_after_expire": True, "api_error_rate": {"refund": 1}})
    second = start_payment(order, new_channel.code)
    if redis_fails:
        redis_server.stop()
    # the second attempt pays the order; the first, paid later, is the duplicate to refund
    assert new_channel.pay(second).ok
    payment_check_now(payment_id=second.pk, actor=CUSTOMER)
    assert old_channel.pay(first).ok
    payment_check_now(payment_id=first.pk, actor=CUSTOMER)
    refund = Refund.objects.get()
    assert refund.payment_id == first.pk
    refunds_execute_due()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING  # 5xx is unknown, not failed

    old_channel.set_faults({"api_timeout_rate": {"refund": 1}, "hang_ms": 2500})
    Refund.objects.update(next_attempt_at=timezone.now())
    refunds_execute_due()
    old_channel.reset_faults()
    Refund.objects.update(next_attempt_at=timezone.now())
    refunds_execute_due()
    settle_refunds()

    refund.refresh_from_db()
    assert_refunded_once_at_the_channel(refund, channels)


@pytest.mark.django_db
@ON_TWO_CHANNELS
def test_a_channel_that_cannot_close_supersedes_and_its_late_success_is_refunded(
    merchant, paying_channels, settings, codes
):
    old_channel, new_channel = channels = paying_channels(*codes)
    if old_channel.code in WITHOUT_CLOSE:
        registered = settings.PAYMENT_CHANNELS[old_channel.code]
        settings.PAYMENT_CHANNELS = {
            **settings.PAYMENT_CHANNELS,
            old_channel.code: {**registered, "class": WITHOUT_CLOSE[old_channel.code]},
        }
    # (Alipay closes, but an unscanned pre-created code is not a trade there yet: its close
    # answers "not found", and the code stays payable)
    for channel in channels:
        channel.set_faults({"notify_drop": 1})
    order = make_order(merchant)
    old = start_payment(order, old_channel.code)

    new = start_payment(order, new_channel.code)

    old.refresh_from_db()
    assert old.superseded and old.status == PaymentStatus.PAYING
    never_closed = TradeStatus.NOT_FOUND if old_channel.lazy_qr else TradeStatus.PAYING
    assert old_channel.trade_status(old) == never_closed
    assert new_channel.pay(new).ok
    assert old_channel.pay(old).ok
    check_everything_due()  # the superseded attempt is still queried
    settle_refunds()

    # whichever success was learned first won; the other is refunded at the channel
    order.refresh_from_db()
    assert order.paid_payment_id in (old.pk, new.pk)
    loser = old if order.paid_payment_id == new.pk else new
    refund = Refund.objects.get()
    assert refund.payment_id == loser.pk
    assert_refunded_once_at_the_channel(refund, channels)


@pytest.mark.django_db(transaction=True)
def test_checkout_pages_answer_clearly_with_redis_down(paying_channel, redis_server):
    call_command("seed_demo", verbosity=0)
    redis_server.stop()
    customer = Client()

    created = customer.post("/shop/order/", {"product": "mug", "token": secrets.token_hex(16)})
    order = Order.objects.get()
    paid = customer.post(f"/checkout/{order.pk}/pay/", {"channel": paying_channel.code})
    page = customer.get(f"/checkout/{order.pk}/")

    assert (created.status_code, paid.status_code, page.status_code) == (302, 302, 200)
    assert "<svg" in page.content.decode()
    assert Payment.objects.get().channel == paying_channel.code
