"""payment_check_now: query the channel now and apply the answer."""

import pytest

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import PaymentStatus
from payments.models import Payment
from payments.services.attempts import payment_start
from payments.services.checks import payment_check_now
from payments.services.results import ApplyOutcome

pytestmark = pytest.mark.django_db

ACTOR = Actor(ActorKind.QUERY_JOB, "test")


def started(order):
    return payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=ACTOR)


def test_a_paid_trade_whose_callback_was_lost_is_found_by_a_query(order, sandbox):
    payment = started(order)
    sandbox.pay(payment.out_trade_no)  # the callback goes nowhere

    assert payment_check_now(payment_id=payment.pk, actor=ACTOR) == ApplyOutcome.PAID

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize(
    "faults",
    [{"api_error_rate": {"query": 1}}, {"api_timeout_rate": {"query": 1}, "hang_ms": 2500}],
    ids=["5xx", "timeout"],
)
def test_channel_trouble_changes_nothing_and_is_never_a_failure(order, sandbox, faults):
    payment = started(order)
    sandbox.pay(payment.out_trade_no)
    sandbox.set_faults(faults)

    assert payment_check_now(payment_id=payment.pk, actor=ACTOR) == ApplyOutcome.NO_CHANGE

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING


def test_a_stale_waiting_answer_changes_nothing(order, sandbox):
    payment = started(order)
    sandbox.pay(payment.out_trade_no)
    sandbox.set_faults({"query_stale_rate": 1})

    assert payment_check_now(payment_id=payment.pk, actor=ACTOR) == ApplyOutcome.NO_CHANGE


def test_not_found_is_final_only_after_the_deadline_plus_skew(order, sandbox, settings):
    payment = Payment.objects.create(
        order=order, channel="sandbox", amount=order.amount, currency="CNY"
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAYING)

    assert payment_check_now(payment_id=payment.pk, actor=ACTOR) == ApplyOutcome.NO_CHANGE

    settings.CHANNEL_CLOCK_SKEW_SECONDS = 0
    Order.objects.filter(pk=order.pk).update(expires_at=order.created_at)
    assert payment_check_now(payment_id=payment.pk, actor=ACTOR) == ApplyOutcome.ATTEMPT_ENDED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CLOSED
