"""Statement reconciliation against the real sandbox process: heals, flags, and changes nothing
the second time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import ChannelTransaction, Discrepancy, Payment, Refund
from reconciliation.days import final_from
from reconciliation.models import (
    Outcome,
    ReconciliationOutcome,
    Statement,
    StatementDay,
    StatementLine,
)
from reconciliation.statements import statement_reconcile, statements_reconcile_due
from tests.factories import (
    make_order,
    paid_payment,
    paying_attempt,
    start_payment,
)

pytestmark = pytest.mark.django_db


def today():
    return timezone.now().astimezone(UTC).date()


def after_the_lag(day):
    """A moment when the sandbox's statement of ``day`` is final (00:00 UTC next day)."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=1)


def outcome_of(channel, fact):
    return ReconciliationOutcome.objects.get(channel=channel, day=today(), fact=fact)


def test_what_we_hold_that_the_final_statement_lacks_is_flagged_only_after_the_lag(
    merchant, sandbox
):
    # a success in our books that the channel never had (e.g. a forged callback we believed)
    payment = paying_attempt(make_order(merchant))
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED)
    ChannelTransaction.objects.create(
        channel="sandbox",
        channel_trade_no=f"T-{payment.out_trade_no}",
        out_trade_no=payment.out_trade_no,
        payment=payment,
        amount=payment.amount,
        currency=payment.currency,
        paid_at=timezone.now(),
        source="callback",
    )
    refund = Refund.objects.create(
        payment=payment,
        amount=200,
        currency=payment.currency,
        reason=RefundReason.MERCHANT_REQUEST,
        status=RefundStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )

    statement_reconcile(channel="sandbox", day=today())  # today's statement is not final yet
    assert not ReconciliationOutcome.objects.filter(payment=payment).exists()

    statement_reconcile(channel="sandbox", day=today(), now=after_the_lag(today()))

    missing = outcome_of("sandbox", f"payment:{payment.out_trade_no}")
    assert missing.outcome == Outcome.MISSING_AT_CHANNEL
    assert missing.discrepancy.kind == Discrepancy.Kind.MISSING_AT_CHANNEL
    refund_missing = outcome_of("sandbox", f"refund:{refund.out_refund_no}")
    assert refund_missing.outcome == Outcome.REFUND_MISSING_AT_CHANNEL
    assert refund_missing.discrepancy.details["problem"] == "refund_missing_at_channel"
    assert StatementDay.objects.get(channel="sandbox", day=today()).status == "RECONCILED"


def test_the_same_day_twice_is_one_set_of_outcomes(merchant, on_channel):
    code, server, day = on_channel.code, on_channel.server, on_channel.today()
    payment = paid_payment(merchant, server, channel=code)
    healed = start_payment(make_order(merchant), code)
    server.pay(healed.out_trade_no)  # its callback goes nowhere: the statement heals it
    by_hand = server.console_refund(payment.out_trade_no, 100)["out_refund_no"]

    def books():
        return (
            list(ReconciliationOutcome.objects.order_by("fact").values()),
            list(Discrepancy.objects.order_by("pk").values("pk", "kind", "details")),
            list(Statement.objects.values_list("pk", "version", "sha256")),
            StatementLine.objects.count(),
            list(Payment.objects.values_list("pk", "status")),
            Refund.objects.count(),
        )

    final = final_from(code, day) + timedelta(minutes=1)
    statement_reconcile(channel=code, day=day, now=final)
    first = books()
    statement_reconcile(channel=code, day=day, now=final)

    assert books() == first
    assert Statement.objects.count() == 1
    healed_fact = ReconciliationOutcome.objects.get(fact=f"payment:{healed.out_trade_no}")
    assert healed_fact.outcome == Outcome.APPLIED
    assert Discrepancy.objects.filter(details__fact=f"refund:{by_hand}").count() == 1


def test_a_changed_file_is_a_new_version_and_both_are_kept(merchant, sandbox):
    statement_reconcile(channel="sandbox", day=today())
    paid_payment(merchant, sandbox)

    statement_reconcile(channel="sandbox", day=today())

    versions = list(Statement.objects.order_by("version").values_list("version", flat=True))
    assert versions == [1, 2]
    assert len(set(Statement.objects.values_list("sha256", flat=True))) == 2


def test_the_sandbox_statement_has_no_fees_so_the_day_sums_to_zero(merchant, sandbox):
    paid_payment(merchant, sandbox)

    run = statement_reconcile(channel="sandbox", day=today())

    assert run.statement.lines.exists()
    assert not run.statement.lines.exclude(fee=None).exists()
    assert run.statement.fee_total == 0


def test_a_day_the_channel_would_not_serve_is_retried_by_the_schedule(merchant, sandbox):
    paid_payment(merchant, sandbox)
    tomorrow = after_the_lag(today())  # the schedule's view: today is "yesterday" and final
    sandbox.set_faults({"api_error_rate": {"statement": 1}})

    statements_reconcile_due(channel="sandbox", now=tomorrow)
    day = StatementDay.objects.get(channel="sandbox", day=today())
    assert (day.status, day.attempts, bool(day.last_error)) == ("PENDING", 1, True)
    assert not Statement.objects.exists()

    sandbox.reset_faults()
    statements_reconcile_due(channel="sandbox", now=tomorrow)
    day.refresh_from_db()
    assert (day.status, day.attempts, day.last_error) == ("RECONCILED", 2, "")
    assert Statement.objects.count() == 1

    assert statements_reconcile_due(channel="sandbox", now=tomorrow) == []  # done is done


def test_a_line_that_cannot_be_kept_refuses_the_file_and_says_which(merchant, sandbox, settings):
    paid_payment(merchant, sandbox)
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox": {
            **settings.PAYMENT_CHANNELS["sandbox"],
            "class": "tests.reconciliation.channels.SandboxWithAnOverlongLine",
        },
    }

    run = statement_reconcile(channel="sandbox", day=today())

    assert run.statement is None and "line " in run.error and "64 characters" in run.error
    day = StatementDay.objects.get()
    assert (day.status, day.last_error) == ("PENDING", run.error)
    assert not Statement.objects.exists() and not StatementLine.objects.exists()
