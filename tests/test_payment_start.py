"""payment_start against the real sandbox process: reuse, races, switching channel."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.forms.models import model_to_dict

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import PaymentStatus
from payments.models import Payment
from payments.services.attempts import PaymentRefused
from tests.factories import make_order, start_payment
from tests.helpers import race

CUSTOMER = Actor(ActorKind.CUSTOMER, "test")


@pytest.mark.django_db
def test_start_creates_one_trade_at_the_channel_with_the_order_deadline(order, sandbox):
    payment = start_payment(order)

    assert payment.status == PaymentStatus.PAYING
    assert payment.pay_action["type"] == "qr" and payment.pay_action["qr_content"]
    trade = sandbox.trade(payment.out_trade_no)
    assert (trade["status"], trade["amount"], trade["currency"]) == ("WAITING", 1000, "CNY")
    assert trade["trade_no"] == payment.channel_trade_no
    margin = timedelta(seconds=settings.TIME_EXPIRE_MARGIN_SECONDS)
    deadline = (order.expires_at - margin).replace(microsecond=0)
    assert datetime.fromisoformat(trade["time_expire"]) == deadline
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYING


@pytest.mark.django_db
def test_the_attempt_and_order_stored_are_the_ones_start_returns(order, sandbox):
    # the start UPDATEs only the columns it changes: one it forgot would differ here
    payment = start_payment(order)

    stored = Payment.objects.get(pk=payment.pk)
    assert model_to_dict(stored) == model_to_dict(payment)
    assert stored.pay_action and stored.channel_trade_no and stored.next_check_at
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAYING


@pytest.mark.django_db
def test_mobile_client_gets_a_redirect(order, sandbox):
    payment = start_payment(order, client="mobile")
    assert payment.pay_action == {"type": "redirect", "url": payment.pay_action["url"]}
    assert payment.pay_action["url"].startswith(sandbox.url)


@pytest.mark.django_db
def test_clicking_pay_again_on_the_same_channel_returns_the_same_attempt(order, sandbox):
    first = start_payment(order)
    again = start_payment(order)
    assert again.pk == first.pk
    assert again.pay_action == first.pay_action
    assert Payment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_clicks_make_one_attempt_and_one_trade(merchant, sandbox):
    order = make_order(merchant)

    results = race(lambda _: start_payment(order), 20)

    assert all(isinstance(r, Payment) for r in results), results
    assert {r.pk for r in results} == {Payment.objects.get().pk}
    payment = Payment.objects.get()
    trade = sandbox.trade(payment.out_trade_no)
    assert (trade["status"], trade["trade_no"]) == ("WAITING", payment.channel_trade_no)


@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_without_redis_still_make_one_attempt(
    merchant, sandbox, settings, caplog
):
    # Redis unreachable: the lock and the cache fail fast and the row lock decides alone.
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "unix:///nonexistent/redis.sock"}
    }
    order = make_order(merchant)

    results = race(lambda _: start_payment(order), 10)

    assert all(isinstance(r, Payment) for r in results), results
    assert Payment.objects.count() == 1
    assert "order lock unavailable, relying on the row lock" in caplog.text


@pytest.mark.django_db
def test_switching_channel_closes_the_old_trade_first(order, sandbox):
    old = start_payment(order, "sandbox")

    new = start_payment(order, "sandbox_card")

    assert new.pk != old.pk and new.channel == "sandbox_card"
    old.refresh_from_db()
    assert old.status == PaymentStatus.CLOSED
    assert sandbox.trade(old.out_trade_no)["status"] == "CLOSED"
    assert sandbox.trade(new.out_trade_no)["status"] == "WAITING"


@pytest.mark.django_db
def test_switching_channel_when_the_close_is_unknown_is_refused(order, sandbox):
    old = start_payment(order, "sandbox")
    sandbox.set_faults({"close_unknown_rate": 1})

    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order, "sandbox_card")

    assert refusal.value.code == "payment_in_progress"
    old.refresh_from_db()
    assert old.status == PaymentStatus.PAYING and old.closing_since is None
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_switching_channel_after_paying_the_first_records_the_payment(order, sandbox):
    old = start_payment(order, "sandbox")
    assert sandbox.pay(old.out_trade_no).status_code == 200  # callback not delivered here

    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order, "sandbox_card")

    assert refusal.value.code == "order_paid"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.paid_payment_id == old.pk
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_paid_order_starts_nothing(order, sandbox):
    payment = start_payment(order)
    sandbox.pay(payment.out_trade_no)
    with pytest.raises(PaymentRefused):
        start_payment(order, "sandbox_card")  # learns the success while closing the old attempt

    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order, "sandbox")

    assert refusal.value.code == "order_paid"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_order_cannot_be_paid(merchant, sandbox, settings):
    settings.TIME_EXPIRE_MARGIN_SECONDS = 0
    order = make_order(merchant, expires_in=1)
    Order.objects.filter(pk=order.pk).update(expires_at=order.created_at)

    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order)

    assert refusal.value.code == "order_expired"
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_channel_outage_on_create_leaves_a_retryable_attempt(order, sandbox):
    sandbox.set_faults({"api_error_rate": {"create": 1}})
    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order)
    assert refusal.value.code == "channel_unavailable"
    attempt = Payment.objects.get()
    assert attempt.status == PaymentStatus.UNPAID and attempt.pay_action is None

    sandbox.reset_faults()
    payment = start_payment(order)

    assert payment.pk == attempt.pk and payment.status == PaymentStatus.PAYING
    assert sandbox.trade(payment.out_trade_no)["status"] == "WAITING"


@pytest.mark.django_db
def test_unknown_channel_is_refused(order, sandbox):
    with pytest.raises(PaymentRefused) as refusal:
        start_payment(order, "bitcoin")
    assert refusal.value.code == "unknown_channel"
