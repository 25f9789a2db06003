"""The last defence against order loss, on every channel: a success that every callback and every
check missed, past the order's deadline and grace, is found by the statement run."""

from datetime import timedelta

from django.utils import timezone

from orders.enums import OrderStatus
from orders.models import Order
from payments.enums import RefundReason, RefundStatus
from payments.models import ChannelTransaction, Refund
from payments.services.checks import payment_check_now
from payments.services.results import ApplyOutcome
from payments.tasks import refunds_execute_due
from reconciliation.models import Outcome, ReconciliationOutcome
from reconciliation.statements import statement_reconcile
from tests.factories import TESTS, make_order, start_payment

LOST = {"notify_drop": 1, "query_stale_rate": 1}  # every callback dropped, every query "waiting"


def outcome_of(channel, payment) -> ReconciliationOutcome:
    return ReconciliationOutcome.objects.get(
        channel=channel, fact=f"payment:{payment.out_trade_no}"
    )


def test_a_success_no_callback_and_no_check_saw_pays_the_order_and_its_double_is_refunded(
    merchant, sandbox, on_channel, settings
):
    settings.PAYMENT_CHECK_GRACE_SECONDS = 0
    # the customer's first QR is on a sandbox channel, then they switch to the channel under test
    first_channel = "sandbox_card" if on_channel.code == "sandbox" else "sandbox"
    sandbox.set_faults(LOST)
    order = make_order(merchant)
    first = start_payment(order, first_channel)
    on_channel.server.set_faults(LOST)
    sandbox.set_faults(LOST | {"pay_after_expire": True})  # (the same server on `sandbox`)
    second = start_payment(order, on_channel.code)  # closes the first, whose QR still takes money
    assert on_channel.server.pay(second.out_trade_no).ok
    assert sandbox.pay(first.out_trade_no).ok
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for payment in (first, second):  # the last checks, past deadline + grace: still "waiting"
        assert payment_check_now(payment_id=payment.pk, actor=TESTS) == ApplyOutcome.NO_CHANGE
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAYING

    statement_reconcile(channel=on_channel.code, day=on_channel.today())
    statement_reconcile(channel=first_channel, day=timezone.now().date())  # the sandbox's day: UTC

    order.refresh_from_db()
    assert (order.status, order.paid_payment_id) == (OrderStatus.PAID, second.pk)
    healed = outcome_of(on_channel.code, second)
    assert (healed.outcome, healed.details["applied"]) == (Outcome.APPLIED, ApplyOutcome.PAID)
    doubled = outcome_of(first_channel, first)
    assert (doubled.outcome, doubled.details["applied"]) == (
        Outcome.APPLIED,
        ApplyOutcome.DUPLICATE_REFUNDED,
    )
    assert ChannelTransaction.objects.filter(source="statement").count() == 2
    refunds_execute_due()
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason, refund.status) == (
        first.pk,
        RefundReason.DUPLICATE_PAYMENT,
        RefundStatus.SUCCEEDED,
    )
    assert sandbox.trade(first.out_trade_no)["refunded_amount"] == first.amount
