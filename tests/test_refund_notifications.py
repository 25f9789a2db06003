"""Refunds the channel finishes later are settled by its signed refund notification, through
the same inbox as trade callbacks; one that reports another amount is not believed."""

import pytest

from orders.audit import Actor
from orders.enums import ActorKind
from payments.enums import NotificationOutcome, RefundReason, RefundStatus
from payments.models import ChannelNotification, Refund
from payments.services.refunds import refund_execute, refund_request
from payments.tasks import refunds_execute_due
from tests.factories import paid_payment
from tests.helpers import wait_for

JOB = Actor(ActorKind.SYSTEM, "tests")
ASYNC = {"refund_async": True, "refund_async_ms": 300}


def refund_in_flight(merchant, sandbox, faults):
    payment = paid_payment(merchant, sandbox)
    sandbox.set_faults(faults)
    refund = refund_request(
        payment_id=payment.pk,
        amount=payment.amount,
        reason=RefundReason.MERCHANT_REQUEST,
        actor=JOB,
    )
    assert refund_execute(refund_id=refund.pk, actor=JOB).status == RefundStatus.PROCESSING
    return refund


def refund_notifications(outcome):
    stored = ChannelNotification.objects.filter(outcome=outcome)
    return [n for n in stored if b'"type":"refund"' in bytes(n.body)]


def refund_status(refund):
    return Refund.objects.get(pk=refund.pk).status


@pytest.mark.django_db(transaction=True)
def test_a_refund_notification_settles_the_refund(merchant, sandbox, callbacks_to):
    refund = refund_in_flight(merchant, sandbox, ASYNC)

    wait_for(lambda: refund_status(refund) == RefundStatus.SUCCEEDED, what="refund settled")

    (notification,) = refund_notifications(NotificationOutcome.APPLIED)
    assert notification.out_trade_no == refund.payment.out_trade_no
    # the notification did it: nobody had to ask the channel
    assert sandbox.calls("refund_query", refund.out_refund_no) == []


@pytest.mark.django_db(transaction=True)
def test_a_refund_notification_of_another_amount_is_rejected_and_the_channel_asked(
    merchant, sandbox, callbacks_to
):
    refund = refund_in_flight(merchant, sandbox, {**ASYNC, "notify_amount_tamper_rate": 1})

    (rejected,) = wait_for(
        lambda: refund_notifications(NotificationOutcome.REJECTED),
        what="the tampered refund notification",
    )

    assert (rejected.error_code, rejected.signature_valid) == ("amount_mismatch", True)
    assert refund_status(refund) == RefundStatus.PROCESSING
    # the refund is due at once: the janitor's query, the channel's own record, settles it
    assert refunds_execute_due() == 1
    assert refund_status(refund) == RefundStatus.SUCCEEDED
    assert len(sandbox.calls("refund", refund.out_refund_no)) == 1
