"""One owner per refund at a time, and only a confirmed refusal is FAILED.

Against the real sandbox: its /v1/calls log shows how often the channel was asked.
"""

import pytest
from django.db import connection

from orders.audit import Actor
from orders.enums import ActorKind
from payments.enums import RefundStatus
from payments.services.refunds import RefundRefused, refund_execute
from tests.factories import paid_payment, refund_of
from tests.helpers import race, wait_for

JOB = Actor(ActorKind.SYSTEM, "tests")


@pytest.mark.django_db(transaction=True)
def test_concurrent_executions_of_one_refund_call_the_channel_once(merchant, sandbox):
    # given a refund whose channel call hangs past the caller's timeout
    payment = paid_payment(merchant, sandbox)
    refund = refund_of(payment, 500)
    sandbox.set_faults({"api_timeout_rate": {"refund": 1}, "hang_ms": 3000, "seed": 1})

    # when the after-commit task, the pump and an admin all execute it at once
    def execute(_):
        try:
            return refund_execute(refund_id=refund.pk, actor=JOB).status
        finally:
            connection.close()

    statuses = race(execute, 6)

    # then exactly one of them called the channel; nobody decided it failed
    assert len(sandbox.calls("refund", refund.out_refund_no)) == 1, statuses
    assert set(statuses) == {RefundStatus.PROCESSING}
    refund.refresh_from_db()
    assert refund.attempts == 1


@pytest.mark.django_db
def test_a_refund_still_in_flight_at_the_channel_is_never_failed_nor_refundable_again(
    merchant, sandbox
):
    # given a channel whose refunds finish later and that answers a repeated call for a refund
    # in flight with 409 (as Stripe does for a key in flight)
    payment = paid_payment(merchant, sandbox)
    sandbox.set_faults(
        {"refund_async": True, "refund_async_ms": 1500, "refund_conflict_rate": 1, "seed": 3}
    )
    refund = refund_of(payment, payment.amount)
    assert refund_execute(refund_id=refund.pk, actor=JOB).status == RefundStatus.PROCESSING

    # when the janitor takes it up again while the channel is still working on it
    again = refund_execute(refund_id=refund.pk, actor=JOB)

    # then it is still in flight, and nothing more can be refunded meanwhile
    assert again.status == RefundStatus.PROCESSING
    with pytest.raises(RefundRefused):
        refund_of(payment, payment.amount)
    # and once the channel finishes, it succeeds exactly once
    settled = wait_for(
        lambda: refund_execute(refund_id=refund.pk, actor=JOB).status == RefundStatus.SUCCEEDED,
        timeout=10,
        interval=0.3,
        what="the refund settles",
    )
    assert settled
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == payment.amount
    # only the first execution sent the refund; the later ones asked how it went
    assert len(sandbox.calls("refund", refund.out_refund_no)) == 1


@pytest.mark.django_db
def test_a_definite_refusal_is_failed_only_after_a_query_finds_no_refund(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)
    refund = refund_of(payment, payment.amount)
    # the channel refunded the whole trade under another number (e.g. by hand in its console)
    by_hand = sandbox.request(
        "POST",
        "/v1/refunds",
        json={"out_trade_no": payment.out_trade_no, "out_refund_no": "R-hand", "amount": 1000},
    )
    assert by_hand.status_code == 200

    refund = refund_execute(refund_id=refund.pk, actor=JOB)

    assert refund.status == RefundStatus.FAILED and refund.needs_attention
    assert len(sandbox.calls("refund_query", refund.out_refund_no)) == 1
