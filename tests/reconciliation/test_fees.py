# Alipay's bill text is Chinese with full-width punctuation, byte for byte.
# ruff: noqa: RUF001
"""Fees as the channel's file says them: per line, signed (a refund gives its fee back), and the
day's total equal to the file's own summary."""

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import Discrepancy
from reconciliation.days import channel_today
from reconciliation.models import Outcome, ReconciliationOutcome
from reconciliation.statements import statement_reconcile
from reconciliation.summary import day_summary
from tests.factories import paid_payment

pytestmark = pytest.mark.django_db


def alipay_summary_fee(raw: bytes) -> int:
    """The day's service fee in fen as the bill's summary file (业务明细(汇总)) states it."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith("(汇总).csv")]
        text = archive.read(name).decode("gbk")
    rows = [row for row in text.splitlines() if row and not row.startswith("#")]
    (total,) = [row for row in csv.DictReader(rows) if row["门店编号"] == "合计"]
    return int(Decimal(total["服务费（元）"]) * 100)


def test_alipay_fees_are_kept_per_line_and_the_day_totals_the_bills_summary(merchant, alipay):
    payment = paid_payment(merchant, alipay, amount=2550, channel="alipay")
    refund = alipay.console_refund(payment.out_trade_no, 1050)

    run = statement_reconcile(channel="alipay", day=channel_today("alipay", timezone.now()))

    lines = run.statement.lines
    # 0.6 % of 25.50 is charged; 0.6 % of the 10.50 refunded is given back
    assert lines.get(kind="payment", out_trade_no=payment.out_trade_no).fee == 15
    assert lines.get(kind="refund", out_refund_no=refund["out_refund_no"]).fee == -6
    # the summary says what the merchant pays as a negative amount: the fee total is its negation
    assert run.statement.fee_total == -alipay_summary_fee(run.statement.raw) != 0
    # and the adapter reads that summary: the day's stated total, kept beside the lines' sum
    assert run.statement.stated_fee_total == run.statement.fee_total
    day = channel_today("alipay", timezone.now())
    fees = ReconciliationOutcome.objects.get(channel="alipay", day=day, fact="fees")
    assert fees.outcome == Outcome.MATCHED


@pytest.fixture
def misstating_wechatpay(wechatpay):
    """The WeChat Pay emulator, made honest again after the test whatever it did."""
    yield wechatpay
    wechatpay.misstate_bill_fee_total(0)


def reconcile_wechatpay_today():
    day = channel_today("wechatpay", timezone.now())
    return statement_reconcile(channel="wechatpay", day=day), day


def fees_outcome(day) -> ReconciliationOutcome:
    return ReconciliationOutcome.objects.get(channel="wechatpay", day=day, fact="fees")


def test_a_wechatpay_bill_keeps_its_stated_fee_total_beside_its_lines_and_they_match(
    merchant, wechatpay
):
    paid_payment(merchant, wechatpay, amount=12345, channel="wechatpay")

    run, day = reconcile_wechatpay_today()

    # 0.6 % of 123.45: 74 fen, as the line says and the summary's 手续费总金额 states
    statement = run.statement
    assert statement.stated_fee_total == statement.fee_total >= 74
    assert fees_outcome(day).outcome == Outcome.MATCHED
    assert not Discrepancy.objects.filter(kind=Discrepancy.Kind.FEE_TOTAL_MISMATCH).exists()
    stated = {row.label: row for row in day_summary(channel="wechatpay", day=day).rows()}
    assert stated["stated fees"].channel == stated["fees"].channel == {"CNY": statement.fee_total}
    assert stated["stated fees"].agrees


def test_a_bill_whose_stated_fee_total_is_not_its_lines_raises_one_discrepancy(
    merchant, misstating_wechatpay
):
    paid_payment(merchant, misstating_wechatpay, amount=12345, channel="wechatpay")
    misstating_wechatpay.misstate_bill_fee_total(3)

    run, day = reconcile_wechatpay_today()
    statement_reconcile(channel="wechatpay", day=day)  # the same day again

    statement = run.statement
    assert statement.stated_fee_total == statement.fee_total + 3
    found = fees_outcome(day)
    assert found.outcome == Outcome.FEE_TOTAL_MISMATCH
    assert found.details == {
        "stated": statement.fee_total + 3,
        "lines": statement.fee_total,
        "currency": "CNY",
    }
    (discrepancy,) = Discrepancy.objects.filter(kind=Discrepancy.Kind.FEE_TOTAL_MISMATCH)
    assert discrepancy == found.discrepancy and discrepancy.resolved_at is None
    assert discrepancy.details["problem"] == "fee_total"
    summary = day_summary(channel="wechatpay", day=day)
    assert discrepancy in summary.open_discrepancies
    stated = {row.label: row for row in summary.rows()}
    assert stated["stated fees"].channel == {"CNY": statement.fee_total + 3}
    assert not stated["stated fees"].agrees
    # the payment itself still matched: only the day's fee total is in question
    assert summary.outcomes[Outcome.MATCHED] >= 1
