"""Property-based: any interleaving of submissions, clicks, buyer payments, channel results,
faults and expiry leaves every order with at most one kept payment and every other success
refunded exactly once (checked here and at the channel). Run once per channel (the sandbox, the
WeChat Pay and Alipay emulators), each mixed with the next one as the customer's other way to
pay; each channel's habits as it has them: Alipay's QR trades exist only once scanned (closes
answered "not found") and refund at once, WeChat Pay's refunds finish later."""

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
from payments.services.scheduler import payments_check_due
from payments.tasks import refunds_execute_due
from tests.helpers import wait_for
from tests.paying_channels import PAIRS, refunds_settled

ACTOR = Actor(ActorKind.CUSTOMER, "property")
TRANSITIONS = {
    "order": ORDER_TRANSITIONS,
    "payment": PAYMENT_TRANSITIONS,
    "refund": REFUND_TRANSITIONS,
}
# per channel pair, three of them: together within ~2-3 minutes
MAX_EXAMPLES = 150

# What each drawn habit means on each channel ({}: it behaves so by nature, or never does).
HABITS = {
    "truthful": {},
    "crossing": {"pay_after_expire": True},
    "close_unknown": {"close_unknown_rate": 1},
    "stale_queries": {"query_stale_rate": 1},
    "slow": {"api_latency_ms": [0, 30], "pay_after_expire": True},
}
CHANNEL_HABITS = {
    # QR trades that exist only once scanned: Alipay's always do, WeChat's never
    "lazy_trades": {"sandbox": {"lazy_trades": True}},
    # refunds that finish later and answer a repeat in flight with 409 (WeChat: 429);
    # Alipay refunds at once
    "async_refunds": {
        code: {"refund_async": True, "refund_async_ms": 200, "refund_conflict_rate": 1}
        for code in ("sandbox", "wechatpay")
    },
}


def habit(name: str, code: str) -> dict:
    return HABITS[name] if name in HABITS else CHANNEL_HABITS[name].get(code, {})


STEP = {
    # 0: the channel under test, 1: the other way to pay the customer may turn to
    "click": st.tuples(st.just("click"), st.integers(0, 1)),
    "scan": st.tuples(st.just("scan"), st.integers(0, 3)),
    "buyer_pays": st.tuples(st.just("buyer_pays"), st.integers(0, 3)),
    "learn": st.tuples(st.just("learn"), st.integers(0, 3)),
    "submit_again": st.tuples(st.just("submit_again")),
    "expire": st.tuples(st.just("expire")),
    "faults": st.tuples(st.just("faults"), st.sampled_from(sorted({*HABITS, *CHANNEL_HABITS}))),
}
# Clicks and payments are drawn more often than the rest: double charges need several of each.
KINDS = ["click"] * 3 + ["buyer_pays"] * 3 + ["scan", "learn", "submit_again", "expire", "faults"]
steps = st.lists(st.sampled_from(KINDS).flatmap(STEP.__getitem__), min_size=6, max_size=16)


@pytest.mark.django_db
@pytest.mark.parametrize("codes", PAIRS, ids=["+".join(pair) for pair in PAIRS])
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=steps, crossing=st.booleans())
# the known paths to a double charge, always run
@example(
    steps=[("click", 0), ("click", 1), ("buyer_pays", 0), ("buyer_pays", 1)],
    crossing=True,
)
@example(
    steps=[("click", 0), ("expire",), ("buyer_pays", 0), ("learn", 0)],
    crossing=True,
)
@example(
    steps=[
        ("click", 0),
        ("faults", "close_unknown"),
        ("click", 1),
        ("faults", "crossing"),
        ("click", 1),
        ("buyer_pays", 0),
        ("buyer_pays", 1),
        ("learn", 1),
        ("learn", 0),
    ],
    crossing=False,
)
# on Alipay, an unscanned QR closed "not found" (superseded, still payable), then both paid
@example(
    steps=[("click", 0), ("click", 1), ("buyer_pays", 1), ("buyer_pays", 0)],
    crossing=False,
)
# a scanned one is a trade: closed, and paid only where closes and payments cross
@example(
    steps=[("click", 0), ("scan", 0), ("click", 1), ("buyer_pays", 1), ("buyer_pays", 0)],
    crossing=True,
)
def test_no_sequence_leaves_a_double_charge_without_a_refund(
    merchant, paying_channels, codes, steps, crossing
):
    channels = paying_channels(*codes)
    by_code = {channel.code: channel for channel in channels}
    # crossing: closes and payments cross at the channel (a closed QR still takes money), all
    # along; the habits drawn come and go on top
    always = HABITS["crossing"] if crossing else {}
    for channel in channels:
        channel.set_faults(always)
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
            case ("click", which):
                with contextlib.suppress(PaymentRefused):
                    payment_start(order_id=order.pk, channel=codes[which], client="pc", actor=ACTOR)
            case ("scan", i) if attempts and attempts[i % len(attempts)].pay_action:
                attempt = attempts[i % len(attempts)]
                by_code[attempt.channel].scan(attempt)  # an expired code may show an error
            case ("buyer_pays", i) if attempts:
                attempt = attempts[i % len(attempts)]
                if by_code[attempt.channel].pay(attempt).status_code == 200:
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
            case ("faults", name):
                for channel in channels:
                    channel.set_faults({**always, **habit(name, channel.code)})

    # settle: the channels answer truthfully again, every attempt is learned, refunds run
    for channel in channels:
        channel.reset_faults()
    for payment in Payment.objects.filter(order=order):
        payment_check_now(payment_id=payment.pk, actor=ACTOR)
    refunds_execute_due()
    wait_for(
        lambda: refunds_settled(Refund.objects.filter(payment__order=order)),
        timeout=10,
        interval=0.1,
        what="refunds final",
    )
    # and asked again: a refunded trade (Alipay: closed once all is refunded; WeChat: REFUND)
    # moves no payment back
    for payment in Payment.objects.filter(order=order):
        payment_check_now(payment_id=payment.pk, actor=ACTOR)

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
            assert by_code[payment.channel].refund_result(automatic.get()) == (
                RefundResultStatus.SUCCEEDED,
                payment.amount,
            )
    successes = sum(p.status == PaymentStatus.SUCCEEDED for p in payments)
    hypothesis.event(f"successes: {successes}")
    # steer the search towards more successes per order: the double charges to refund
    hypothesis.target(successes, label="successes")
    kept = [p for p in payments if p.status == PaymentStatus.SUCCEEDED and not p.refunds.exists()]
    assert len(kept) <= 1
    if kept:
        assert order.paid_payment_id == kept[0].pk
    for change in StatusChange.objects.filter(order=order).exclude(from_status=""):
        if change.from_status == change.to_status:
            continue  # an audit note on a state that did not move (an attempt superseded)
        assert change.to_status in TRANSITIONS[change.entity][change.from_status], change
