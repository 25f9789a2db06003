"""The trade bill's fees (手续费): yuan with five decimals, read exactly into integer fen per
line, a refund's fee given back (negative), and the summary's day total kept beside the lines'."""

import gzip
import hashlib
import logging
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from payments.channels.base import (
    ChannelUnavailable,
    CreateTrade,
    RefundRequest,
    StatementLineKind,
    TradeRef,
)
from payments.channels.wechatpay import WechatpayChannel, transformers
from payments.channels.wire import translated
from payments.enums import PaymentClient
from tests.helpers import wait_for
from wechatpay_emulator.bills import HEADER, SUMMARY_HEADER

DAY = date(2026, 1, 1)


def bill(*fees: str, total: str) -> tuple[bytes, str]:
    """A gzipped bill of payment lines with these fees and this summary fee total."""
    columns = HEADER.split(",")
    rows = [HEADER]
    for number, fee in enumerate(fees):
        line = dict.fromkeys(columns, "")
        line.update(
            {
                "交易时间": "2026-01-01 10:00:00",
                "微信订单号": f"42000{number}",
                "商户订单号": f"P{number}",
                "交易状态": "SUCCESS",
                "货币种类": "CNY",
                "订单金额": "1.00",
                "手续费": fee,
            }
        )
        rows.append(",".join("`" + line[column] for column in columns))
    rows += [SUMMARY_HEADER, f"`{len(fees)},`1.00,`0.00,`0.00,`{total},`1.00,`0.00"]
    text = ("\r\n".join(rows) + "\r\n").encode()
    return gzip.compress(text), hashlib.sha1(text).hexdigest()


def parsed(raw: bytes, sha1: str):
    return translated("statement", transformers.statement, DAY, raw, sha1)


def test_whole_fen_fees_are_read_exactly_and_the_summary_total_kept():
    statement = parsed(*bill("0.74000", "0.01000", "0.00000", total="0.75000"))

    assert [line.fee for line in statement.lines] == [74, 1, 0]
    assert statement.fee_total == 75


def test_a_sub_fen_fee_is_rounded_half_up_and_a_summary_that_differs_is_logged(caplog):
    # WeChat charges each transaction its fee rounded to the fen; a file that writes fractions
    # of a fen is rounded the same way, and a total that no longer adds up is said, not hidden
    with caplog.at_level(logging.WARNING):
        statement = parsed(*bill("0.00600", "0.00600", "0.00600", "-0.00500", total="0.01300"))

    assert [line.fee for line in statement.lines] == [1, 1, 1, -1]
    # the summary's own total (1.3 fen exactly, so 1 fen), as the channel states it, beside
    # the lines' 2 fen
    assert statement.fee_total == 1
    assert "fee total" in caplog.text and "differs" in caplog.text


@pytest.mark.parametrize("fee", ["1e-3", "+0.01000", "0.01 ", "", "--0.01", "-", ".5", "9" * 40])
def test_a_fee_that_is_not_plain_decimal_yuan_is_unknown(fee):
    with pytest.raises(ChannelUnavailable):
        parsed(*bill(fee, total="0.00000"))


def test_the_fees_of_a_bill_the_emulator_serves_add_up_to_its_day_total(wechatpay_process):
    adapter = WechatpayChannel(
        code="wechatpay",
        base_url=wechatpay_process.url,
        manifest_file=str(wechatpay_process.data_dir / "keys" / "manifest.json"),
        timeout=5,
    )
    out_trade_no = "P" + secrets.token_hex(12)
    adapter.create_trade(
        CreateTrade(
            out_trade_no=out_trade_no,
            amount=12345,
            currency="CNY",
            subject="fees",
            notify_url="http://127.0.0.1:9/callbacks/wechatpay/",
            time_expire=datetime.now(UTC) + timedelta(minutes=10),
            client=PaymentClient.PC,
        )
    )
    assert wechatpay_process.pay(out_trade_no).ok
    trade = TradeRef(out_trade_no=out_trade_no)
    out_refund_no = "R" + secrets.token_hex(12)
    adapter.refund(
        RefundRequest(
            trade=trade,
            out_refund_no=out_refund_no,
            amount=2345,
            total_amount=12345,
            currency="CNY",
        )
    )
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    def ours():
        lines = adapter.statement_lines(today).lines
        return {line.kind: line for line in lines if line.out_trade_no == out_trade_no}

    wait_for(lambda: len(ours()) == 2, what="the payment and its refund in the bill")
    statement = adapter.statement_lines(today)
    mine = ours()

    # 0.6 % of 123.45 yuan is 0.7407: 74 fen; of the 23.45 refunded, 0.1407: 14 fen back
    assert mine[StatementLineKind.PAYMENT].fee == 74
    assert mine[StatementLineKind.REFUND].fee == -14
    assert statement.fee_total == sum(line.fee for line in statement.lines)
