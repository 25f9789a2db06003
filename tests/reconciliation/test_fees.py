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

from reconciliation.days import channel_today
from reconciliation.statements import statement_reconcile
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
