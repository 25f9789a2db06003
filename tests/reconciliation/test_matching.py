"""Matching lines the sandbox cannot produce (other amounts, currencies, statuses, fees) —
the lines stored as a channel's adapter would hand them over, matched against real rows."""

import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from payments.channels.base import StatementLine as Line
from payments.channels.base import StatementLineKind
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import ChannelTransaction, Discrepancy, Payment, Refund
from payments.services.refunds import refund_execute
from reconciliation.matching import statement_match
from reconciliation.models import Outcome, ReconciliationOutcome, Statement
from reconciliation.statements import statement_store
from tests.factories import TESTS, make_order, paid_payment, paying_attempt, refund_of

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 2)


def line(payment, **overrides) -> Line:
    fields = {
        "kind": StatementLineKind.PAYMENT,
        "out_trade_no": payment.out_trade_no,
        "channel_trade_no": payment.channel_trade_no,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": "SUCCESS",
        "time": datetime(2026, 1, 2, 8, tzinfo=UTC),
    }
    return Line(**(fields | overrides))


def matched(lines, *, raw=b"file", day=DAY) -> dict[str, ReconciliationOutcome]:
    statement = statement_store(channel="sandbox", day=day, raw=raw, lines=tuple(lines))
    statement_match(statement=statement, final=False)
    return {row.fact: row for row in ReconciliationOutcome.objects.all()}


@pytest.mark.parametrize(
    ("overrides", "outcome", "kind"),
    [
        ({"amount": 999}, Outcome.AMOUNT_MISMATCH, Discrepancy.Kind.AMOUNT_MISMATCH),
        ({"currency": "USD"}, Outcome.CURRENCY_MISMATCH, Discrepancy.Kind.CURRENCY_MISMATCH),
        ({"status": "CLOSED"}, Outcome.STATUS_MISMATCH, Discrepancy.Kind.STATUS_MISMATCH),
    ],
)
def test_a_line_that_differs_from_our_success_is_a_discrepancy_of_its_kind(
    merchant, sandbox, overrides, outcome, kind
):
    payment = paid_payment(merchant, sandbox)

    found = matched([line(payment, **overrides)])[f"payment:{payment.out_trade_no}"]

    assert (found.outcome, found.discrepancy.kind, found.discrepancy.payment_id) == (
        outcome,
        kind,
        payment.pk,
    )
    # the same fact again, seen on the next day's statement: still one open discrepancy
    matched([line(payment, **overrides)], day=DAY + timedelta(days=1))
    assert Discrepancy.objects.count() == 1


def test_a_success_of_another_amount_we_never_heard_of_is_refunded_and_flagged_once(
    merchant, sandbox
):
    order = make_order(merchant)
    payment = order.payments.create(channel="sandbox", amount=order.amount, currency="CNY")

    found = matched([line(payment, amount=700, channel_trade_no="T-700")])
    found = found[f"payment:{payment.out_trade_no}"]

    assert found.outcome == Outcome.AMOUNT_MISMATCH
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason) == (700, "AMOUNT_MISMATCH")
    assert Discrepancy.objects.get() == found.discrepancy  # the one apply recorded


def test_a_refund_of_another_amount_is_a_refund_mismatch(merchant, sandbox):
    payment = paid_payment(merchant, sandbox)
    refund = refund_execute(refund_id=refund_of(payment, 400).pk, actor=TESTS)
    refund_line = line(
        payment,
        kind=StatementLineKind.REFUND,
        amount=450,
        out_refund_no=refund.out_refund_no,
        channel_refund_no=refund.channel_refund_no,
    )

    found = matched([line(payment), refund_line])[f"refund:{refund.out_refund_no}"]

    assert found.outcome == Outcome.REFUND_AMOUNT_MISMATCH
    assert (found.discrepancy.kind, found.discrepancy.details["problem"]) == (
        Discrepancy.Kind.REFUND_MISMATCH,
        "refund_amount",
    )


def test_a_success_we_never_issued_is_missing_here(db):
    stranger = line(
        Payment(out_trade_no="P-nobody", channel_trade_no="T", amount=5, currency="CNY")
    )

    found = matched([stranger])["payment:P-nobody"]

    assert (found.outcome, found.discrepancy.kind) == (Outcome.MISSING_HERE, "MISSING_HERE")


def test_fees_are_kept_per_line_and_summed_per_statement(merchant, sandbox):
    first, second = paid_payment(merchant, sandbox), paid_payment(merchant, sandbox)

    statement = statement_store(
        channel="sandbox",
        day=DAY,
        raw=b"with fees",
        lines=(line(first, fee=6), line(second, fee=4), line(second, fee=None)),
    )

    assert list(statement.lines.values_list("fee", flat=True)) == [6, 4, None]
    assert statement.fee_total == 10
    assert (statement.sha256, statement.size) == (hashlib.sha256(b"with fees").hexdigest(), 9)


def test_the_same_file_is_kept_once_and_the_database_refuses_a_second_copy(db):
    kept = statement_store(channel="sandbox", day=DAY, raw=b"x", lines=())
    assert statement_store(channel="sandbox", day=DAY, raw=b"x", lines=()) == kept

    with pytest.raises(IntegrityError):
        Statement.objects.create(
            channel="sandbox", day=DAY, version=2, sha256=kept.sha256, size=1, raw=b"x"
        )


def learned_payment(merchant, moment) -> Payment:
    """A success in our books (its ChannelTransaction) and a refund of it that succeeded."""
    payment = paying_attempt(make_order(merchant), channel_trade_no=f"T-{secrets.token_hex(6)}")
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED)
    ChannelTransaction.objects.create(
        channel="sandbox",
        channel_trade_no=payment.channel_trade_no,
        out_trade_no=payment.out_trade_no,
        payment=payment,
        amount=payment.amount,
        currency=payment.currency,
        paid_at=moment,
        source="callback",
    )
    Refund.objects.create(
        payment=payment,
        amount=100,
        currency=payment.currency,
        reason=RefundReason.MERCHANT_REQUEST,
        status=RefundStatus.SUCCEEDED,
        finished_at=moment,
    )
    return payment


def test_matching_a_day_takes_as_many_queries_for_fifty_lines_as_for_five(merchant):
    def queries_to_match(count: int, day: date) -> tuple[int, int]:
        moment = datetime.combine(day, time(8), UTC)
        payments = [learned_payment(merchant, moment) for _ in range(count)]
        lines = []
        for payment in payments:
            refund = payment.refunds.get()
            lines += [
                line(payment, time=moment),
                line(
                    payment,
                    kind=StatementLineKind.REFUND,
                    amount=100,
                    out_refund_no=refund.out_refund_no,
                    channel_refund_no=f"TR-{refund.pk}",
                    time=moment,
                ),
            ]
        statement = statement_store(
            channel="sandbox", day=day, raw=day.isoformat().encode(), lines=tuple(lines)
        )
        with CaptureQueriesContext(connection) as first:
            statement_match(statement=statement, final=True)
        with CaptureQueriesContext(connection) as again:
            statement_match(statement=statement, final=True)
        outcomes = ReconciliationOutcome.objects.filter(day=day)
        assert outcomes.filter(outcome=Outcome.MATCHED).count() == 2 * count == outcomes.count()
        return len(first), len(again)

    five = queries_to_match(5, DAY)
    fifty = queries_to_match(50, DAY + timedelta(days=1))

    assert five == fifty
    assert max(five) <= 8  # lines, payments, successes, refunds, outcomes, 2 x ours, 1 write


def test_a_file_that_differs_only_outside_its_lines_is_the_same_statement(merchant, sandbox):
    # Alipay stamps each download with its export time: the same lines in other bytes
    payment = paid_payment(merchant, sandbox)
    kept = statement_store(
        channel="sandbox", day=DAY, raw=b"exported 10:00", lines=(line(payment),)
    )

    again = statement_store(
        channel="sandbox", day=DAY, raw=b"exported 10:01", lines=(line(payment),)
    )
    changed = statement_store(
        channel="sandbox", day=DAY, raw=b"exported 10:02", lines=(line(payment, amount=1),)
    )

    assert again == kept
    assert (changed.version, Statement.objects.count()) == (2, 2)


def test_a_line_listed_twice_is_one_fact_and_a_discrepancy_is_not_hidden_by_its_twin(
    merchant, sandbox
):
    payment = paid_payment(merchant, sandbox)

    found = matched([line(payment), line(payment), line(payment, amount=1), line(payment)])

    assert found[f"payment:{payment.out_trade_no}"].outcome == Outcome.AMOUNT_MISMATCH
    assert ReconciliationOutcome.objects.count() == 1
