"""Refunds the channel finishes later are settled by its signed refund notification, through
the same inbox as trade callbacks; one that reports another amount is not believed. A notification
that carries the trade's refunded total instead of the refund's amount (Alipay) settles the refund
only when that total is what we know was refunded plus this refund."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind
from payments.channels.base import RefundResult, RefundResultStatus
from payments.enums import NotificationOutcome, RefundReason, RefundStatus
from payments.models import ChannelNotification, Refund
from payments.services.refunds import (
    RefundNoticeOutcome,
    refund_apply_notification,
    refund_execute,
    refund_request,
)
from payments.tasks import refunds_execute_due
from tests.factories import paid_payment, refund_of
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


def total_notice(refund, trade_refunded_total):
    """A success that names the refund but carries the trade's refunded total, not the refund's
    amount (Alipay's refund notify)."""
    return RefundResult(
        out_refund_no=refund.out_refund_no,
        status=RefundResultStatus.SUCCEEDED,
        currency=refund.currency,
        trade_refunded_total=trade_refunded_total,
    )


@pytest.fixture
def two_refunds_in_flight(merchant, sandbox):
    """Two refunds of one payment, both sent and neither answered yet."""
    payment = paid_payment(merchant, sandbox, amount=1000)
    refunds = [refund_of(payment, amount) for amount in (300, 500)]
    Refund.objects.filter(payment=payment).update(
        status=RefundStatus.PROCESSING, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    return refunds


@pytest.mark.django_db(transaction=True)
def test_a_trades_total_that_adds_up_settles_the_refund_it_names(two_refunds_in_flight):
    first, second = two_refunds_in_flight

    outcome = refund_apply_notification(result=total_notice(first, 300), actor=JOB)

    assert outcome == RefundNoticeOutcome.APPLIED
    assert refund_status(first) == RefundStatus.SUCCEEDED
    # now the second's notify (8.00 in all) adds up too
    outcome = refund_apply_notification(result=total_notice(second, 800), actor=JOB)
    assert outcome == RefundNoticeOutcome.APPLIED
    assert refund_status(second) == RefundStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_total_with_refunds_not_learned_yet_leaves_it_to_the_refund_query(
    two_refunds_in_flight,
):
    # the second's notify came first: its 8.00 counts the first, which we do not know yet
    first, second = two_refunds_in_flight

    outcome = refund_apply_notification(result=total_notice(second, 800), actor=JOB)

    assert outcome == RefundNoticeOutcome.UNCHANGED  # acknowledged, nothing contradicts it
    second.refresh_from_db()
    assert second.status == RefundStatus.PROCESSING
    assert second.next_attempt_at <= timezone.now()  # due now: the channel's record decides
    assert refund_status(first) == RefundStatus.PROCESSING


@pytest.mark.django_db(transaction=True)
def test_a_total_below_what_we_know_was_refunded_is_a_mismatch(two_refunds_in_flight):
    first, second = two_refunds_in_flight
    refund_apply_notification(result=total_notice(first, 300), actor=JOB)

    outcome = refund_apply_notification(result=total_notice(second, 500), actor=JOB)

    # 5.00 in all cannot hold the first's 3.00 and this one's 5.00
    assert outcome == RefundNoticeOutcome.MISMATCH
    second.refresh_from_db()
    assert second.status == RefundStatus.PROCESSING
    assert second.next_attempt_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_notification_naming_the_refund_under_another_trade_is_a_mismatch(
    two_refunds_in_flight,
):
    first, _second = two_refunds_in_flight
    notice = replace(total_notice(first, 300), out_trade_no="P-another-trade")

    outcome = refund_apply_notification(result=notice, actor=JOB)

    assert outcome == RefundNoticeOutcome.MISMATCH
    assert refund_status(first) == RefundStatus.PROCESSING
