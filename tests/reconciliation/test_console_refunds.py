"""A refund the merchant makes in the channel's own console, past Paycenter: each channel records
it (its queries and its statement show it), and the statement run flags it for finance."""

import pytest
import requests

from payments.channels import get_channel
from payments.channels.base import RefundRef, RefundResultStatus
from payments.models import Discrepancy, Refund
from reconciliation.models import Outcome, ReconciliationOutcome
from reconciliation.statements import statement_reconcile
from tests.factories import paid_payment

pytestmark = pytest.mark.django_db


def test_a_refund_made_at_the_channel_is_a_refund_missing_here(merchant, on_channel):
    payment = paid_payment(merchant, on_channel.server, amount=2000, channel=on_channel.code)

    made = on_channel.server.console_refund(payment.out_trade_no, 300)

    refund_ref = RefundRef(made["out_refund_no"], trade=payment.trade_ref)
    queried = get_channel(on_channel.code).query_refund(refund_ref)
    assert (queried.status, queried.amount) == (RefundResultStatus.SUCCEEDED, 300)
    statement_reconcile(channel=on_channel.code, day=on_channel.today())
    unknown = ReconciliationOutcome.objects.get(
        channel=on_channel.code, fact=f"refund:{made['out_refund_no']}"
    )
    assert unknown.outcome == Outcome.REFUND_MISSING_HERE
    discrepancy = unknown.discrepancy
    assert (discrepancy.kind, discrepancy.payment_id, discrepancy.details["problem"]) == (
        Discrepancy.Kind.REFUND_MISMATCH,
        payment.pk,
        "refund_missing_here",
    )
    assert discrepancy.details["amount"] == 300
    assert not Refund.objects.exists()  # finance decides; nothing is booked by itself


def test_the_merchant_may_name_a_console_refund_and_it_never_exceeds_what_was_paid(
    merchant, on_channel
):
    payment = paid_payment(merchant, on_channel.server, amount=1000, channel=on_channel.code)
    out_refund_no = f"C{payment.out_trade_no[-20:]}"

    named = on_channel.server.console_refund(payment.out_trade_no, 1000, out_refund_no)

    assert named["out_refund_no"] == out_refund_no
    with pytest.raises(requests.HTTPError):
        on_channel.server.console_refund(payment.out_trade_no, 1)
    with pytest.raises(requests.HTTPError):
        on_channel.server.console_refund("P-never-issued", 1)
