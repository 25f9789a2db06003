"""Refund request and execution against the sandbox: idempotent, never more than was paid."""

import pytest
import requests

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from payments.enums import RefundStatus
from payments.models import Event, Refund
from payments.services.attempts import payment_start
from payments.services.refunds import RefundRefused, refund_execute
from tests.factories import make_order, paid_payment, refund_of
from tests.helpers import race

MERCHANT = Actor(ActorKind.PARTNER_API, "tests")


@pytest.mark.django_db
def test_partial_refunds_then_full_refund_the_order(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)

    first = refund_execute(refund_id=refund_of(payment, 400).pk, actor=MERCHANT)
    second = refund_execute(refund_id=refund_of(payment, 600).pk, actor=MERCHANT)

    assert (first.status, second.status) == (RefundStatus.SUCCEEDED, RefundStatus.SUCCEEDED)
    payment.order.refresh_from_db()
    assert payment.order.refunded_amount == 1000
    assert payment.order.status == OrderStatus.REFUNDED
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 1000
    assert Event.objects.filter(type="refund.succeeded").count() == 2
    assert Event.objects.filter(type="order.refunded").count() == 1


@pytest.mark.django_db
def test_a_refund_beyond_what_was_paid_is_refused(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)
    refund_of(payment, 700)

    with pytest.raises(RefundRefused) as refusal:
        refund_of(payment, 301)

    assert refusal.value.code == "refund_exceeds_payment"
    assert Refund.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [0, -5, True, 10.5])
def test_refund_amount_must_be_a_positive_integer(merchant, sandbox, amount):
    payment = paid_payment(merchant, sandbox)
    with pytest.raises(RefundRefused):
        refund_of(payment, amount)
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_an_unpaid_payment_cannot_be_refunded(merchant, sandbox):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=MERCHANT)
    with pytest.raises(RefundRefused) as refusal:
        refund_of(payment, 100)
    assert refusal.value.code == "payment_not_succeeded"


@pytest.mark.django_db(transaction=True)
def test_concurrent_refund_requests_never_exceed_the_payment(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)

    results = race(lambda _: refund_of(payment, 300), 8)

    assert sum(isinstance(r, Refund) for r in results) == 3
    assert all(isinstance(r, (Refund, RefundRefused)) for r in results), results


@pytest.mark.django_db
def test_a_refund_failing_at_the_channel_then_recovering_succeeds_exactly_once(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)
    refund = refund_of(payment, 1000)
    sandbox.set_faults({"api_error_rate": {"refund": 1}})

    refund = refund_execute(refund_id=refund.pk, actor=MERCHANT)
    assert refund.status == RefundStatus.PROCESSING  # unknown is not failed
    sandbox.set_faults({"api_timeout_rate": {"refund": 1}, "hang_ms": 2500, "seed": 7})
    refund = refund_execute(refund_id=refund.pk, actor=MERCHANT)
    assert refund.status == RefundStatus.PROCESSING

    sandbox.reset_faults()
    refund = refund_execute(refund_id=refund.pk, actor=MERCHANT)

    assert refund.status == RefundStatus.SUCCEEDED and refund.attempts == 3
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 1000
    assert Event.objects.filter(type="refund.succeeded").count() == 1


@pytest.mark.django_db
def test_a_refund_the_channel_refuses_fails_and_is_flagged(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)
    refund = refund_of(payment, 1000)
    # the channel already refunded it all through another refund number (e.g. by hand)
    sandbox_refund = requests.post(
        f"{sandbox.url}/v1/refunds",
        json={"out_trade_no": payment.out_trade_no, "out_refund_no": "R-by-hand", "amount": 1000},
        timeout=5,
    )
    assert sandbox_refund.status_code == 200

    refund = refund_execute(refund_id=refund.pk, actor=MERCHANT)

    assert refund.status == RefundStatus.FAILED and refund.needs_attention
    assert Event.objects.filter(type="refund.failed").count() == 1
