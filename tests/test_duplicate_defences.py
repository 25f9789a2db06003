"""The paths to a double charge, each made impossible or automatically refunded —
with Redis up, and with Redis stopped in the middle of the scenario (locks, cache and dedup
fall back to the database)."""

import secrets
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import Event, Payment, Refund
from payments.services.attempts import PaymentRefused
from payments.services.checks import payment_check_now
from payments.services.order_closing import orders_close_expired
from payments.services.scheduler import payments_check_due
from payments.tasks import refunds_execute_due
from tests.factories import make_order, start_payment
from tests.helpers import race, wait_for

CUSTOMER = Actor(ActorKind.CUSTOMER, "test")
REDIS = pytest.mark.parametrize("redis_fails", [False, True], ids=["redis-up", "redis-down"])


def check_everything_due():
    Payment.objects.filter(status__in=("UNPAID", "PAYING")).update(next_check_at=timezone.now())
    payments_check_due(now=timezone.now(), batch=100)
    orders_close_expired(now=timezone.now(), batch=100)
    refunds_execute_due()


@pytest.mark.django_db(transaction=True)
@REDIS
def test_twenty_concurrent_pay_clicks_make_one_attempt_and_one_trade(
    merchant, sandbox, redis_server, redis_fails
):
    order = make_order(merchant)
    if redis_fails:
        redis_server.stop()

    results = race(lambda _: start_payment(order), 20)

    assert all(isinstance(r, Payment) for r in results), results
    payment = Payment.objects.get()
    assert {r.pk for r in results} == {payment.pk}
    assert sandbox.trade(payment.out_trade_no)["trade_no"] == payment.channel_trade_no


@pytest.mark.django_db(transaction=True)
@REDIS
def test_paying_on_two_channels_leaves_one_winner_and_one_refund_at_the_channel(
    merchant, sandbox, callbacks_to, redis_server, redis_fails
):
    order = make_order(merchant)
    first = start_payment(order, "sandbox")
    sandbox.set_faults({"pay_after_expire": True})  # the closed first QR still takes money
    second = start_payment(order, "sandbox_card")
    if redis_fails:
        redis_server.stop()

    sandbox.pay(second.out_trade_no)
    sandbox.pay(first.out_trade_no)
    wait_for(lambda: Refund.objects.exists() and Order.objects.get().status == "PAID")
    refunds_execute_due()

    # whichever callback arrived first won; the other payment went back at the channel
    order.refresh_from_db()
    assert order.paid_payment_id in (first.pk, second.pk)
    loser = first if order.paid_payment_id == second.pk else second
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason, refund.status) == (
        loser.pk,
        RefundReason.DUPLICATE_PAYMENT,
        RefundStatus.SUCCEEDED,
    )
    assert sandbox.trade(loser.out_trade_no)["refunded_amount"] == loser.amount
    assert Event.objects.filter(type="refund.succeeded").count() == 1


@pytest.mark.django_db
@REDIS
def test_a_payment_the_channel_accepts_after_expiry_is_refunded(
    merchant, sandbox, redis_server, redis_fails
):
    sandbox.set_faults({"notify_drop": 1})
    order = make_order(merchant)
    payment = start_payment(order)
    if redis_fails:
        redis_server.stop()
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    check_everything_due()  # expiry closes the trade at the channel, then the order
    assert Order.objects.get().status == OrderStatus.CLOSED

    sandbox.set_faults({"notify_drop": 1, "pay_after_expire": True})
    assert sandbox.pay(payment.out_trade_no).status_code == 200
    # no callback, and the attempt is closed on our side: a query (or the statement) finds it
    payment_check_now(payment_id=payment.pk, actor=CUSTOMER)
    refunds_execute_due()

    refund = Refund.objects.get()
    assert (refund.reason, refund.status) == (RefundReason.ORDER_CLOSED, RefundStatus.SUCCEEDED)
    assert sandbox.refund(refund.out_refund_no)["status"] == "SUCCESS"
    assert Order.objects.get().status == OrderStatus.CLOSED


@pytest.mark.django_db
@REDIS
def test_switching_channel_refuses_while_the_old_close_is_unknown(
    merchant, sandbox, redis_server, redis_fails
):
    order = make_order(merchant)
    old = start_payment(order, "sandbox")
    if redis_fails:
        redis_server.stop()
    sandbox.set_faults({"close_unknown_rate": 1})

    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order, "sandbox_card")
    assert refusal.value.code == "payment_in_progress"

    sandbox.reset_faults()
    new = start_payment(order, "sandbox_card")
    assert new.channel == "sandbox_card"
    assert sandbox.trade(old.out_trade_no)["status"] == "CLOSED"
    assert Payment.objects.get(pk=old.pk).status == PaymentStatus.CLOSED


@pytest.mark.django_db(transaction=True)
@REDIS
def test_a_refund_failing_then_recovering_succeeds_exactly_once(
    merchant, sandbox, callbacks_to, redis_server, redis_fails
):
    order = make_order(merchant)
    first = start_payment(order, "sandbox")
    sandbox.set_faults({"pay_after_expire": True, "api_error_rate": {"refund": 1}})
    second = start_payment(order, "sandbox_card")
    if redis_fails:
        redis_server.stop()
    sandbox.pay(second.out_trade_no)
    sandbox.pay(first.out_trade_no)
    refund = wait_for(lambda: Refund.objects.first())
    refunds_execute_due()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING  # 5xx is unknown, not failed

    sandbox.set_faults({"api_timeout_rate": {"refund": 1}, "hang_ms": 2500})
    Refund.objects.update(next_attempt_at=timezone.now())
    refunds_execute_due()
    sandbox.reset_faults()
    Refund.objects.update(next_attempt_at=timezone.now())
    refunds_execute_due()

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert sandbox.trade(refund.payment.out_trade_no)["refunded_amount"] == refund.amount
    assert Event.objects.filter(type="refund.succeeded").count() == 1


@pytest.mark.django_db
def test_a_channel_that_cannot_close_supersedes_and_its_late_success_is_refunded(
    merchant, sandbox, card_cannot_close
):
    sandbox.set_faults({"notify_drop": 1})
    order = make_order(merchant)
    old = start_payment(order, "sandbox_card")

    new = start_payment(order, "sandbox")

    old.refresh_from_db()
    assert old.superseded and old.status == PaymentStatus.PAYING
    assert sandbox.trade(old.out_trade_no)["status"] == "WAITING"  # never closed
    sandbox.pay(new.out_trade_no)
    sandbox.pay(old.out_trade_no)
    check_everything_due()  # the superseded attempt is still queried

    # whichever success was learned first won; the other is refunded at the channel
    order.refresh_from_db()
    assert order.paid_payment_id in (old.pk, new.pk)
    loser = old if order.paid_payment_id == new.pk else new
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.status) == (loser.pk, RefundStatus.SUCCEEDED)
    assert sandbox.trade(loser.out_trade_no)["refunded_amount"] == loser.amount


@pytest.mark.django_db(transaction=True)
def test_checkout_pages_answer_clearly_with_redis_down(sandbox, redis_server):
    call_command("seed_demo", verbosity=0)
    redis_server.stop()
    customer = Client()

    created = customer.post("/shop/order/", {"product": "mug", "token": secrets.token_hex(16)})
    order = Order.objects.get()
    paid = customer.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox"})
    page = customer.get(f"/checkout/{order.pk}/")

    assert (created.status_code, paid.status_code, page.status_code) == (302, 302, 200)
    assert "<svg" in page.content.decode()
