# Alipay's bill text is Chinese with full-width punctuation, byte for byte.
# ruff: noqa: RUF001
"""Each channel's real statement file, as its server serves it, kept byte for byte and parsed:
the sandbox's CSV, WeChat Pay's gzipped bill (backquoted fields, summary lines), Alipay's zip of
GBK CSV files framed by `#` lines."""

import gzip
import io
import zipfile

import pytest

from reconciliation.models import StatementLine
from reconciliation.statements import statement_reconcile
from tests.factories import paid_payment

pytestmark = pytest.mark.django_db


def sandbox_rows(raw: bytes) -> list[str]:
    header, *rows = raw.decode("utf-8").splitlines()
    assert header.startswith("type,channel,trade_no,out_trade_no,out_refund_no,")
    return rows


def wechatpay_rows(raw: bytes) -> list[str]:
    assert raw[:2] == b"\x1f\x8b"  # gzip, as asked for (tar_type=GZIP)
    header, *rest = gzip.decompress(raw).decode("utf-8").split("\r\n")
    assert header.startswith("交易时间,公众账号ID,商户号,")
    summary_at = rest.index(next(row for row in rest if row.startswith("总交易单数,")))
    rows, (summary, end) = rest[:summary_at], rest[summary_at + 1 :]
    assert all(field.startswith("`") for row in [*rows, summary] for field in row.split(","))
    assert summary.split(",")[0] == f"`{len(rows)}" and end == ""
    return rows


def alipay_rows(raw: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        files = {name.split("_", 2)[2]: archive.read(name) for name in archive.namelist()}
    assert set(files) == {"业务明细.csv", "业务明细(汇总).csv"}
    summary = files["业务明细(汇总).csv"].decode("gbk").splitlines()
    assert summary[0] == "#支付宝业务汇总查询" and summary[-1].startswith("#导出时间")
    detail = files["业务明细.csv"].decode("gbk").splitlines()
    assert detail[0] == "#支付宝业务明细查询"
    header, *rows = [row for row in detail if not row.startswith("#")]
    assert header.startswith("支付宝交易号,商户订单号,业务类型,")
    assert f"#交易合计：{sum(',交易,' in r for r in rows)}笔" in detail[-2]
    return rows


FILE_ROWS = {"sandbox": sandbox_rows, "wechatpay": wechatpay_rows, "alipay": alipay_rows}


def test_the_channels_own_file_is_kept_and_every_line_of_it_parsed(merchant, on_channel):
    payment = paid_payment(merchant, on_channel.server, amount=1234, channel=on_channel.code)
    refund = on_channel.server.console_refund(payment.out_trade_no, 234)

    statement = statement_reconcile(channel=on_channel.code, day=on_channel.today()).statement

    rows = FILE_ROWS[on_channel.code](bytes(statement.raw))
    assert statement.lines.count() == len(rows) >= 2  # every payment and refund of its day
    ours = statement.lines.filter(out_trade_no=payment.out_trade_no)
    paid = ours.get(kind=StatementLine.Kind.PAYMENT)
    assert (paid.amount, paid.currency, paid.channel_trade_no) == (
        1234,
        "CNY",
        payment.channel_trade_no,
    )
    refunded = ours.get(kind=StatementLine.Kind.REFUND)
    assert (refunded.amount, refunded.out_refund_no) == (234, refund["out_refund_no"])
    assert paid.time <= refunded.time
