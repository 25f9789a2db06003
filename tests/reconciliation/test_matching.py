"""Matching lines the sandbox cannot produce (other amounts, currencies, statuses, fees) —
the lines stored as a channel's adapter would hand them over, matched against real rows."""

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError

from payments.channels.base import StatementLine as Line
from payments.channels.base import StatementLineKind
from payments.models import Discrepancy, Payment, Refund
from payments.services.refunds import refund_execute
from reconciliation.matching import statement_match
from reconciliation.models import Outcome, ReconciliationOutcome, Statement
from reconciliation.statements import statement_store
from tests.factories import TESTS, make_order, paid_payment, refund_of

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
