"""The payment checks (active query + expiry close) and the inbox job, against the sandbox."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import NotificationOutcome, PaymentStatus, RefundReason, TransactionSource
from payments.models import ChannelNotification, Event, Payment, PaymentCheck, Refund
from payments.services.attempts import payment_start
from payments.services.notifications import notification_receive, notifications_reprocess_stale
from payments.services.order_closing import orders_close_expired
from payments.services.results import ApplyOutcome, payment_apply_channel_result
from payments.services.scheduler import next_check_at, payment_claim_due, payments_check_due
from reconciliation.risk import money_at_risk
from tests.conftest import TEST_SECRET
from tests.factories import make_order
from tests.helpers import race, signed_notification, success_for, wait_for

CUSTOMER = Actor(ActorKind.CUSTOMER, "test")


def started(order, channel="sandbox"):
    return payment_start(order_id=order.pk, channel=channel, client="pc", actor=CUSTOMER)


def make_due(*payments):
    Payment.objects.filter(pk__in=[p.pk for p in payments]).update(
        next_check_at=timezone.now() - timedelta(seconds=1)
    )


def check_now(batch=50):
    return payments_check_due(now=timezone.now(), batch=batch)


@pytest.mark.django_db
def test_a_paid_order_whose_callbacks_are_all_lost_is_found_by_the_check(order, sandbox):
    sandbox.set_faults({"notify_drop": 1})
    payment = started(order)
    sandbox.pay(payment.out_trade_no)
    make_due(payment)

    assert check_now() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Event.objects.filter(type="order.paid").count() == 1
    payment.refresh_from_db()
    assert payment.next_check_at is None


@pytest.mark.django_db
def test_only_due_payments_are_checked(merchant, sandbox):
    due, later = started(make_order(merchant)), started(make_order(merchant))
    make_due(due)

    assert check_now() == 1

    later.refresh_from_db()
    assert later.check_attempts == 0


@pytest.mark.django_db
def test_an_unpaid_payment_is_rescheduled_and_flagged_after_the_fast_checks(
    order, sandbox, settings
):
    settings.PAYMENT_CHECK_SCHEDULE = [10, 20, 30]
    payment = started(order)
    for expected_attempts in (1, 2, 3, 4):
        make_due(payment)
        before = timezone.now()
        check_now()
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.PAYING
        assert payment.check_attempts == expected_attempts
        assert payment.next_check_at > before
        assert payment.needs_attention is (expected_attempts > 3)


@pytest.mark.django_db
def test_the_check_schedule_is_fast_then_backs_off_while_open_and_until_the_deadline(
    order, settings
):
    settings.PAYMENT_CHECK_SCHEDULE = [10, 20, 30]
    settings.PAYMENT_CHECK_BACKOFF_MAX_SECONDS = 200
    settings.PAYMENT_CHECK_GRACE_SECONDS = 600
    payment = Payment(order=order, amount=1, currency="CNY")
    now = timezone.now()

    def delay(attempts, at=now):
        payment.check_attempts = attempts
        next_at = next_check_at(payment, at)
        return None if next_at is None else (next_at - at).total_seconds()

    assert [delay(n) for n in (1, 2, 3, 4, 5, 6)] == [10, 20, 30, 60, 120, 200]
    deadline = order.expires_at + timedelta(seconds=600)
    assert delay(6, at=deadline + timedelta(days=1)) == 200  # open: checked until final
    payment.status = PaymentStatus.CLOSED  # closed: checked until the deadline for a crossing
    assert delay(6, at=deadline - timedelta(seconds=50)) == 50  # one last check at the deadline
    assert delay(6, at=deadline) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "faults",
    [{"api_error_rate": {"query": 1}}, {"api_timeout_rate": {"query": 1}, "hang_ms": 2500}],
    ids=["5xx", "timeouts"],
)
def test_a_failing_query_api_keeps_payments_open_then_they_resolve(order, sandbox, faults):
    sandbox.set_faults({**faults, "notify_drop": 1})
    payment = started(order)
    sandbox.pay(payment.out_trade_no)
    make_due(payment)
    check_now()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING  # unknown is never failed

    sandbox.set_faults({"notify_drop": 1})
    make_due(payment)
    check_now()

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_check_the_same_payment_in_one_tick(merchant, sandbox):
    payments = [started(make_order(merchant)) for _ in range(8)]
    make_due(*payments)

    counts = race(lambda _: check_now(batch=3), 2)

    assert sum(counts) <= len(payments)
    checked = Payment.objects.filter(check_attempts__gt=0)
    assert set(checked.values_list("check_attempts", flat=True)) == {1}
    assert checked.count() == sum(counts)


@pytest.mark.django_db
def test_expiry_closes_the_attempt_at_the_channel_first_then_the_order(merchant, sandbox):
    order = make_order(merchant)
    payment = started(order)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert orders_close_expired(now=timezone.now(), batch=10) == 0  # attempt still open
    make_due(payment)
    check_now()
    assert sandbox.trade(payment.out_trade_no)["status"] == "CLOSED"
    assert orders_close_expired(now=timezone.now(), batch=10) == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    assert Event.objects.filter(type="order.closed").count() == 1


@pytest.mark.django_db
def test_expiry_with_an_unknown_close_keeps_trying(merchant, sandbox):
    order = make_order(merchant)
    payment = started(order)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    sandbox.set_faults({"close_unknown_rate": 1})

    make_due(payment)
    check_now()
    orders_close_expired(now=timezone.now(), batch=10)

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PAYING and payment.status == PaymentStatus.PAYING
    assert payment.next_check_at is not None
    sandbox.reset_faults()
    make_due(payment)
    check_now()
    orders_close_expired(now=timezone.now(), batch=10)
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED


@pytest.mark.django_db
def test_an_expired_order_that_was_paid_with_a_lost_callback_is_paid_after_all(merchant, sandbox):
    sandbox.set_faults({"notify_drop": 1})
    order = make_order(merchant)
    payment = started(order)
    sandbox.pay(payment.out_trade_no)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    make_due(payment)
    check_now()
    orders_close_expired(now=timezone.now(), batch=10)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not Event.objects.filter(type="order.closed").exists()


@pytest.mark.django_db
def test_an_expired_order_without_attempts_is_closed(merchant):
    order = make_order(merchant)
    fresh = make_order(merchant)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert orders_close_expired(now=timezone.now(), batch=10) == 1

    order.refresh_from_db()
    fresh.refresh_from_db()
    assert (order.status, fresh.status) == (OrderStatus.CLOSED, OrderStatus.UNPAID)


@pytest.mark.django_db
def test_a_callback_stored_but_never_processed_is_applied_by_the_inbox_job(
    order, sandbox, settings
):
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    payment = started(order)
    headers, body = signed_notification(payment, TEST_SECRET)
    # the process crashed right after storing it
    stored = notification_receive(channel="sandbox", headers=headers, body=body, peer="127.0.0.1")

    assert notifications_reprocess_stale(now=timezone.now(), batch=10) == 1

    stored.refresh_from_db()
    assert stored.outcome == NotificationOutcome.APPLIED
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert notifications_reprocess_stale(now=timezone.now(), batch=10) == 0
    assert ChannelNotification.objects.count() == 1


@pytest.mark.django_db
def test_a_flagged_payment_that_settles_is_no_longer_flagged(order, sandbox, settings):
    settings.PAYMENT_CHECK_SCHEDULE = [1]
    payment = started(order)
    for _ in range(2):
        make_due(payment)
        check_now()
    payment.refresh_from_db()
    assert payment.needs_attention

    sandbox.pay(payment.out_trade_no)
    make_due(payment)
    check_now()

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and not payment.needs_attention


@pytest.mark.django_db
def test_an_open_attempt_past_its_deadline_is_never_abandoned(merchant, sandbox, settings):
    settings.PAYMENT_CHECK_SCHEDULE = [1]
    settings.PAYMENT_CHECK_GRACE_SECONDS = 60
    order = make_order(merchant)
    payment = started(order)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=120))
    sandbox.set_faults({"close_unknown_rate": 1})

    for _ in range(3):  # past expiry + grace, and every close answers unknown
        make_due(payment)
        check_now()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING
    assert payment.next_check_at is not None  # still scheduled: closed or queried until final
    assert payment.needs_attention
    # every close answered unknown is on the check log: money at risk, not an abandoned code
    closes = payment.checks.filter(call=PaymentCheck.Call.CLOSE)
    assert set(closes.values_list("answer", "outcome")) == {("UNKNOWN", "UNKNOWN")}
    lines = {line.risk.key: line for line in money_at_risk(now=timezone.now())}
    unknown = lines["payments_unknown"]
    assert (unknown.count, unknown.totals) == (1, ((payment.amount, payment.currency),))
    assert lines["payments_abandoned"].count == 0

    sandbox.reset_faults()
    make_due(payment)
    check_now()
    orders_close_expired(now=timezone.now(), batch=10)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.CLOSED, PaymentStatus.CLOSED)
    assert payment.next_check_at is None  # closed, and past the deadline a crossing is over
    assert sandbox.trade(payment.out_trade_no)["status"] == "CLOSED"


@pytest.mark.django_db
def test_an_open_attempt_of_a_paid_order_is_closed_until_the_channel_confirms(merchant, sandbox):
    sandbox.set_faults({"notify_drop": 1, "close_unknown_rate": 1})
    order = make_order(merchant)
    other = started(order)
    Payment.objects.filter(pk=other.pk).update(superseded=True)  # e.g. its close said not found
    winner = started(order, channel="sandbox_card")
    sandbox.pay(winner.out_trade_no)
    make_due(winner)
    check_now()  # the late winner is found; the other attempt's close answers unknown
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(pk=other.pk).is_open

    sandbox.reset_faults()
    make_due(other)
    check_now()

    assert sandbox.trade(other.out_trade_no)["status"] == "CLOSED"
    assert Payment.objects.get(pk=other.pk).status == PaymentStatus.CLOSED


@pytest.mark.django_db
def test_a_claim_holds_its_payment_longer_than_the_channel_calls_of_a_check(
    order, sandbox, settings
):
    settings.PAYMENT_CHECK_LEASE_SECONDS = 3
    settings.CHANNEL_HTTP_TIMEOUT_SECONDS = 10
    payment = started(order)
    make_due(payment)
    claimed_at = timezone.now()

    assert payment_claim_due(now=claimed_at) == payment.pk

    payment.refresh_from_db()
    assert payment.next_check_at >= claimed_at + timedelta(seconds=20)  # two channel timeouts


@pytest.mark.django_db
def test_the_next_check_is_scheduled_from_when_the_check_finished(order, sandbox, settings):
    settings.PAYMENT_CHECK_SCHEDULE = [10]
    payment = started(order)
    sandbox.set_faults({"api_timeout_rate": {"query": 1}, "hang_ms": 1000})  # a slow answer
    make_due(payment)
    before = timezone.now()

    check_now()

    payment.refresh_from_db()
    assert payment.next_check_at >= before + timedelta(seconds=11)  # the 1 s call, then 10 s


@pytest.mark.django_db(transaction=True)
def test_a_check_whose_answer_changes_nothing_takes_five_statements_and_one_lock(order, sandbox):
    payment = started(order)
    make_due(payment)

    with CaptureQueriesContext(connection) as captured:
        assert check_now(batch=1) == 1

    # the claim (the one lock, for one statement), the payment read once, the answer's trade
    # looked up, the check recorded, the next check scheduled: no transaction of its own
    queries = [query["sql"] for query in captured.captured_queries]
    assert len(queries) == 5, queries
    assert [q for q in queries if "FOR UPDATE" in q] == queries[:1]
    assert PaymentCheck.objects.filter(payment=payment).count() == 1
    payment.refresh_from_db()
    assert payment.check_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_success_learned_while_the_check_waits_for_the_channel_is_not_checked_again(
    order, sandbox
):
    payment = started(order)
    make_due(payment)
    sandbox.set_faults({"api_latency_ms": [1000, 1000]})  # the check waits on the channel

    def check_or_call_back(i: int) -> object:
        if i == 0:
            return check_now()  # the channel will answer "still paying"
        wait_for(lambda: sandbox.calls(operation="query"), what="the check asking the channel")
        return payment_apply_channel_result(
            result=success_for(payment), source=TransactionSource.CALLBACK, actor=CUSTOMER
        )

    # when the callback's success is applied while the check is asking
    assert race(check_or_call_back, 2) == [1, ApplyOutcome.PAID]

    # then the check's older answer schedules nothing for the settled payment
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.next_check_at, payment.check_attempts) == (None, 0)


@pytest.mark.django_db
def test_an_attempt_its_channel_cannot_close_is_still_queried_after_the_order_is_paid(
    merchant, sandbox, card_cannot_close
):
    sandbox.set_faults({"notify_drop": 1})
    order = make_order(merchant)
    old = started(order, channel="sandbox_card")
    new = started(order)  # the old attempt cannot be closed: superseded, still payable
    sandbox.pay(new.out_trade_no)
    make_due(new)
    check_now()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID

    sandbox.pay(old.out_trade_no)  # the customer pays the old one too
    make_due(old)
    check_now()

    assert Payment.objects.get(pk=old.pk).status == PaymentStatus.SUCCEEDED  # found by a query
    assert Refund.objects.get(payment=old).reason == RefundReason.DUPLICATE_PAYMENT
