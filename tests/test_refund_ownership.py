"""One owner per refund at a time, and only a confirmed refusal is FAILED (issue 10, defect 1).

Against the real sandbox: its /v1/calls log shows how often the channel was asked.
"""

import pytest
from django.db import connection

from orders.audit import Actor
from orders.enums import ActorKind
from payments.enums import RefundReason, RefundStatus
from payments.services.refunds import refund_execute, refund_request
from tests.helpers import race
from tests.test_refunds import paid_payment

JOB = Actor(ActorKind.SYSTEM, "tests")


def new_refund(payment, amount):
    return refund_request(
        payment_id=payment.pk, amount=amount, reason=RefundReason.MERCHANT_REQUEST, actor=JOB
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_executions_of_one_refund_call_the_channel_once(merchant, sandbox):
    # given a refund whose channel call hangs past the caller's timeout
    payment = paid_payment(merchant, sandbox)
    refund = new_refund(payment, 500)
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
