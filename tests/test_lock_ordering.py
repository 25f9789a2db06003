"""Services racing on one order: pay clicks, status reads (read repair) and refund executions
at once still give one attempt, one refund at the channel and no error.

(The lock-order rule behind it — a transaction that writes an audit row, whose foreign key to
the order is checked at commit, locks the order row first — was found by the browser tests as
a deadlock; these races exercise the same paths but do not reliably hit that narrow window.)"""

import pytest

from orders.audit import Actor
from orders.enums import ActorKind
from payments.enums import RefundReason, RefundStatus
from payments.models import Payment, Refund
from payments.services.attempts import payment_start
from payments.services.checks import payment_check_now
from payments.services.refunds import refund_execute, refund_request
from tests.factories import make_order
from tests.helpers import race

ACTOR = Actor(ActorKind.CUSTOMER, "race")


def read_repair_all(order):
    for payment_id in Payment.objects.filter(order=order).values_list("pk", flat=True):
        payment_check_now(payment_id=payment_id, actor=ACTOR)


@pytest.mark.django_db(transaction=True)
def test_pay_clicks_racing_status_reads_make_one_attempt_without_errors(merchant, sandbox):
    for _ in range(4):
        order = make_order(merchant)

        results = race(
            lambda i, order=order: (
                payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=ACTOR)
                if i % 2
                else read_repair_all(order)
            ),
            12,
        )

        assert not [r for r in results if isinstance(r, Exception)], results
        assert Payment.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_refund_executions_racing_queries_refund_once_without_errors(merchant, sandbox):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=ACTOR)
    sandbox.pay(payment.out_trade_no)
    payment_check_now(payment_id=payment.pk, actor=ACTOR)
    refund = refund_request(
        payment_id=payment.pk, amount=payment.amount, reason=RefundReason.MANUAL, actor=ACTOR
    )

    results = race(
        lambda i: (
            refund_execute(refund_id=refund.pk, actor=ACTOR) if i % 2 else read_repair_all(order)
        ),
        12,
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == payment.amount
