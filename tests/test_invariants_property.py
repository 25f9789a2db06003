"""Property-based: any interleaving of submissions, clicks, buyer payments, channel results,
faults and expiry leaves every order with at most one kept payment and every other success
refunded exactly once (checked here and at the channel). The attempts mix the sandbox's two
channels and Alipay (its emulator): QR trades that exist only once scanned, closes answered
"not found", synchronous refunds."""

import contextlib
from datetime import timedelta

import hypothesis
import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orders.audit import Actor
from orders.enums import ORDER_TRANSITIONS, ActorKind
from orders.models import Order, StatusChange
from orders.services import order_submit
from payments.channels import get_channel
from payments.channels.base import RefundResultStatus
from payments.enums import (
    AUTOMATIC_REFUND_REASONS,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    PaymentStatus,
    RefundStatus,
)
from payments.models import Payment, Refund
from payments.services.attempts import PaymentRefused, payment_start
from payments.services.checks import payment_check_now
from payments.services.order_closing import orders_close_expired
from payments.services.refunds import UNFINISHED_REFUND_STATUSES, refund_execute
from payments.services.scheduler import payments_check_due
from payments.tasks import refunds_execute_due
from tests.helpers import wait_for

ACTOR = Actor(ActorKind.CUSTOMER, "property")
TRANSITIONS = {
    "order": ORDER_TRANSITIONS,
    "payment": PAYMENT_TRANSITIONS,
    "refund": REFUND_TRANSITIONS,
}

STEP = {
    "click": st.tuples(st.just("click"), st.sampled_from(["sandbox", "sandbox_card", "alipay"])),
    "buyer_pays": st.tuples(st.just("buyer_pays"), st.integers(0, 3)),
    "learn": st.tuples(st.just("learn"), st.integers(0, 3)),
    "submit_again": st.tuples(st.just("submit_again")),
    "expire": st.tuples(st.just("expire")),
    "faults": st.tuples(
        st.just("faults"),
        st.sampled_from(
            [
                {},
                {"pay_after_expire": True},
                {"close_unknown_rate": 1},
                {"query_stale_rate": 1},
                # real channels' habits: QR trades that exist only once scanned, refunds that
                # finish later and answer a repeat in flight with 409, slow answers
                {"lazy_trades": True},
                {"refund_async": True, "refund_async_ms": 200, "refund_conflict_rate": 1},
                {"api_latency_ms": [0, 30], "pay_after_expire": True},
            ]
        ),
    ),
}
# Clicks and payments are drawn more often than the rest: double charges need several of each.
KINDS = ["click"] * 3 + ["buyer_pays"] * 3 + ["learn", "submit_again", "expire", "faults"]
steps = st.lists(st.sampled_from(KINDS).flatmap(STEP.__getitem__), min_size=6, max_size=16)


def refunds_settled(order) -> bool:
    """Refunds the channel finishes later are asked again until each one is final."""
    unfinished = Refund.objects.filter(payment__order=order, status__in=UNFINISHED_REFUND_STATUSES)
    for refund_id in unfinished.values_list("pk", flat=True):
        refund_execute(refund_id=refund_id, actor=ACTOR)
    return not unfinished.exists()


@pytest.mark.django_db
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps, crossing=st.booleans())
# the known paths to a double charge, always run
@example(
    steps=[("click", "sandbox"), ("click", "sandbox_card"), ("buyer_pays", 0), ("buyer_pays", 1)],
    crossing=True,
)
@example(
    steps=[("click", "sandbox"), ("expire",), ("buyer_pays", 0), ("learn", 0)],
    crossing=True,
)
@example(
    steps=[
        ("click", "sandbox"),
        ("faults", {"close_unknown_rate": 1}),
        ("click", "sandbox_card"),
        ("faults", {"pay_after_expire": True}),
        ("click", "sandbox_card"),
        ("buyer_pays", 0),
        ("buyer_pays", 1),
        ("learn", 1),
        ("learn", 0),
    ],
    crossing=False,
)
# an unscanned Alipay QR closed "not found" (superseded, still payable), then both paid
@example(
    steps=[("click", "alipay"), ("click", "sandbox"), ("buyer_pays", 1), ("buyer_pays", 0)],
    crossing=False,
)
def test_no_sequence_leaves_a_double_charge_without_a_refund(
    merchant, sandbox, alipay, steps, crossing
):
    # crossing: closes and payments cross at the channel (a closed QR still takes money)
    for server in (sandbox, alipay):
        server.set_faults({"pay_after_expire": True} if crossing else {})
    servers = {"sandbox": sandbox, "sandbox_card": sandbox, "alipay": alipay}
    submission = {
        "merchant": merchant,
        "merchant_order_no": f"prop-{timezone.now().timestamp()}",
        "amount": 500,
        "currency": "CNY",
        "subject": "property",
        "actor": ACTOR,
    }
    order, _ = order_submit(**submission)
    paid_at_channel = set()

    for step in steps:
        attempts = list(Payment.objects.filter(order=order).order_by("created_at"))
        match step:
            case ("submit_again",):
                assert order_submit(**submission)[0].pk == order.pk
            case ("click", channel):
                with contextlib.suppress(PaymentRefused):
                    payment_start(order_id=order.pk, channel=channel, client="pc", actor=ACTOR)
            case ("buyer_pays", i) if attempts:
                attempt = attempts[i % len(attempts)]
                if servers[attempt.channel].pay(attempt.out_trade_no).status_code == 200:
                    paid_at_channel.add(attempt.pk)
            case ("learn", i) if attempts:
                payment_check_now(payment_id=attempts[i % len(attempts)].pk, actor=ACTOR)
            case ("expire",):
                Order.objects.filter(pk=order.pk).update(
                    expires_at=timezone.now() - timedelta(seconds=1)
                )
                Payment.objects.filter(order=order).update(next_check_at=timezone.now())
                payments_check_due(now=timezone.now(), batch=20)
                orders_close_expired(now=timezone.now(), batch=20)
            case ("faults", faults):
                # the sandbox's habits; Alipay's emulator behaves lazily and refunds at once
                sandbox.set_faults(faults)

    # settle: the channel answers truthfully again, every attempt is learned, refunds run
    for server in (sandbox, alipay):
        server.reset_faults()
    for payment in Payment.objects.filter(order=order):
        payment_check_now(payment_id=payment.pk, actor=ACTOR)
    refunds_execute_due()
    wait_for(lambda: refunds_settled(order), timeout=10, interval=0.1, what="refunds final")

    order.refresh_from_db()
    payments = list(Payment.objects.filter(order=order))
    for payment in payments:
        succeeded = payment.status == PaymentStatus.SUCCEEDED
        assert succeeded == (payment.pk in paid_at_channel), "a paid trade was not learned"
        live_refunds = payment.refunds.exclude(status=RefundStatus.FAILED)
        assert (live_refunds.aggregate(total=Sum("amount"))["total"] or 0) <= payment.amount
        if succeeded and payment.pk != order.paid_payment_id:
            automatic = payment.refunds.filter(reason__in=AUTOMATIC_REFUND_REASONS)
            assert automatic.count() == 1
            assert automatic.get().status == RefundStatus.SUCCEEDED
            at_channel = get_channel(payment.channel).query_refund(automatic.get().refund_ref)
            assert (at_channel.status, at_channel.amount) == (
                RefundResultStatus.SUCCEEDED,
                payment.amount,
            )
    hypothesis.event(f"successes: {sum(p.status == 'SUCCEEDED' for p in payments)}")
    kept = [p for p in payments if p.status == PaymentStatus.SUCCEEDED and not p.refunds.exists()]
    assert len(kept) <= 1
    if kept:
        assert order.paid_payment_id == kept[0].pk
    for change in StatusChange.objects.filter(order=order).exclude(from_status=""):
        if change.from_status == change.to_status:
            continue  # an audit note on a state that did not move (an attempt superseded)
        assert change.to_status in TRANSITIONS[change.entity][change.from_status], change
