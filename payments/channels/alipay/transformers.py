# Alipay's bill text is Chinese with full-width punctuation, byte for byte.
# ruff: noqa: RUF001
"""Alipay's words and shapes in, our dataclasses out.

Any answer of the wrong shape raises one of wire.WRONG_SHAPE; ``translated`` (the sandbox's) turns
that into ChannelUnavailable. An answer that names a trade or refund must name ours, and a
``trade_status`` Alipay does not document makes the whole answer unknown.
"""

import csv
import io
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from payments.channels import wire
from payments.channels.base import (
    PayAction,
    PayActionType,
    RefundResult,
    RefundResultStatus,
    Statement,
    StatementLine,
    StatementLineKind,
    TradeResult,
    TradeStatus,
)
from payments.channels.money import from_decimal_text, to_decimal_text
from payments.text import storable_json

CHINA = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CURRENCY = "CNY"  # Alipay's trade APIs speak yuan only
TRADE_STATUSES = {
    "WAIT_BUYER_PAY": TradeStatus.PAYING,
    "TRADE_SUCCESS": TradeStatus.SUCCEEDED,
    "TRADE_FINISHED": TradeStatus.SUCCEEDED,
    "TRADE_CLOSED": TradeStatus.CLOSED,
}
REFUND_STATUSES = {"REFUND_SUCCESS": RefundResultStatus.SUCCEEDED}
# A refund answer says whether this call moved money; "N" is a repeat (or nothing done): ask.
FUND_CHANGES = {"Y": RefundResultStatus.SUCCEEDED, "N": RefundResultStatus.UNKNOWN}
STATEMENT_KINDS = {"交易": StatementLineKind.PAYMENT, "退款": StatementLineKind.REFUND}
# What makes a notify about a refund rather than about the trade's payment.
REFUND_NOTIFY_FIELDS = ("out_biz_no", "refund_fee", "gmt_refund")
EMPTY_SUCCESS_KEYS = {"code", "msg"}


def china_moment(text: str) -> datetime:
    if not isinstance(text, str) or len(text) != 19:
        raise ValueError(f"not yyyy-MM-dd HH:mm:ss: {text!r}")
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA)


def china_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a time must say its time zone: {moment!r}")
    return moment.astimezone(CHINA).strftime(TIME_FORMAT)


def to_yuan(amount: int) -> str:
    return to_decimal_text(amount, CURRENCY)


def yuan(text: Any) -> int:
    amount = from_decimal_text(text, CURRENCY)
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {text!r}")
    return amount


def about_ours(answer: Mapping[str, Any], out_trade_no: str) -> None:
    """An answer about another trade, or with a status Alipay does not document, is no answer."""
    named = answer.get("out_trade_no")
    if named is not None and named != out_trade_no:
        raise ValueError(f"answered about another trade: {named!r}")
    status = answer.get("trade_status")
    if status is not None and status not in TRADE_STATUSES:
        raise ValueError(f"undocumented trade_status {status!r}")


def precreate_action(answer: Mapping[str, Any], out_trade_no: str) -> PayAction:
    """The QR of our trade. Alipay names no trade_no yet: the trade exists once scanned."""
    about_ours(answer, out_trade_no)
    if answer.get("out_trade_no") != out_trade_no:
        raise ValueError("a precreate answer must name our trade")
    qr_code = wire.text(answer["qr_code"])
    if not qr_code:
        raise ValueError("an empty qr_code")
    return PayAction(type=PayActionType.QR, qr_content=qr_code, url=qr_code)


def trade_result(answer: Mapping[str, Any], out_trade_no: str) -> TradeResult:
    about_ours(answer, out_trade_no)
    status = TRADE_STATUSES[wire.text(answer["trade_status"])]
    amount = yuan(answer["total_amount"])
    paid_text = wire.optional_text(answer.get("send_pay_date"))
    return TradeResult(
        out_trade_no=wire.text(answer["out_trade_no"]),
        status=status,
        channel_trade_no=wire.text(answer["trade_no"]),
        amount=amount,
        currency=CURRENCY,
        paid_at=china_moment(paid_text) if paid_text else None,
        raw=storable_json(dict(answer)),
    )


def closed_result(answer: Mapping[str, Any], out_trade_no: str) -> TradeResult:
    about_ours(answer, out_trade_no)
    return TradeResult(
        out_trade_no=out_trade_no,
        status=TradeStatus.CLOSED,
        channel_trade_no=wire.text(answer["trade_no"]),  # a close answer always names it
        raw=storable_json(dict(answer)),
    )


def refund_result(answer: Mapping[str, Any], out_trade_no: str, out_refund_no: str) -> RefundResult:
    """A refund answer: it does not repeat out_request_no, and its refund_fee is the trade's
    refunded total, not this refund's amount (the refund query says that)."""
    about_ours(answer, out_trade_no)
    wire.text(answer["trade_no"])
    yuan(answer["refund_fee"])
    return RefundResult(
        out_refund_no=out_refund_no,
        status=FUND_CHANGES[wire.text(answer["fund_change"])],
        out_trade_no=out_trade_no,
        raw=storable_json(dict(answer)),
    )


def refund_query_result(
    answer: Mapping[str, Any], out_trade_no: str, out_refund_no: str
) -> RefundResult:
    """An empty success means Alipay holds no refund under this out_request_no."""
    if set(answer) <= EMPTY_SUCCESS_KEYS:
        return RefundResult(out_refund_no=out_refund_no, status=RefundResultStatus.NOT_FOUND)
    about_ours(answer, out_trade_no)
    if answer.get("out_request_no") != out_refund_no:
        raise ValueError(f"answered about another refund: {answer.get('out_request_no')!r}")
    status = answer.get("refund_status")
    return RefundResult(
        out_refund_no=out_refund_no,
        status=REFUND_STATUSES.get(wire.optional_text(status), RefundResultStatus.UNKNOWN),
        amount=yuan(answer["refund_amount"]),
        currency=CURRENCY,
        out_trade_no=out_trade_no,
        raw=storable_json(dict(answer)),
    )


def notification_result(params: Mapping[str, str]) -> TradeResult | RefundResult:
    """A trade_status_sync notify: about the trade's payment, or about one of its refunds."""
    out_trade_no = wire.text(params["out_trade_no"])
    about_ours(params, out_trade_no)
    if any(name in params for name in REFUND_NOTIFY_FIELDS):
        return refund_notify_result(params, out_trade_no)
    status = TRADE_STATUSES[wire.text(params["trade_status"])]
    paid_text = params.get("gmt_payment")
    return TradeResult(
        out_trade_no=out_trade_no,
        status=status,
        channel_trade_no=wire.text(params["trade_no"]),
        amount=yuan(params["total_amount"]),
        currency=CURRENCY,
        paid_at=china_moment(paid_text) if paid_text else None,
        raw=storable_json(dict(params)),
    )


def refund_notify_result(params: Mapping[str, str], out_trade_no: str) -> RefundResult:
    """A refund's notify: sent once the money moved, naming the refund by out_biz_no (our
    out_request_no). Its refund_fee is the trade's refunded total so far, not this refund's
    amount; its trade_status (TRADE_CLOSED after a full refund) says nothing of the payment."""
    yuan(params["total_amount"])
    return RefundResult(
        out_refund_no=wire.text(params["out_biz_no"]),
        status=RefundResultStatus.SUCCEEDED,
        currency=CURRENCY,
        out_trade_no=out_trade_no,
        trade_refunded_total=yuan(params["refund_fee"]),
        raw=storable_json(dict(params)),
    )


def notify_id(params: Mapping[str, str]) -> str:
    """The notify's own id, the same on every retry: what makes a replay a replay."""
    value = wire.text(params["notify_id"])
    if not value:
        raise ValueError("an empty notify_id")
    return value


def statement(day: date, raw: bytes) -> Statement:
    """Alipay's trade bill: a zip of GBK CSV files; the detail file (业务明细) has one line per
    payment and per refund between ``#`` comment lines, and its summary (业务明细(汇总)) states
    the day's totals on its 合计 row, of which the service fee is the statement's fee total."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        records = _bill_records(archive, "_业务明细.csv", "detail")
        summaries = _bill_records(archive, "_业务明细(汇总).csv", "summary", required=False)
    lines = tuple(_statement_line(row) for row in records)
    return Statement(day=day, raw=raw, lines=lines, fee_total=_stated_fee_total(summaries))


def _bill_records(
    archive: zipfile.ZipFile, suffix: str, what: str, required: bool = True
) -> list[dict[str, str]] | None:
    """The rows of the bill's one file ending in ``suffix`` (None: there is none, if allowed)."""
    names = [name for name in archive.namelist() if name.endswith(suffix)]
    if not names and not required:
        return None
    if len(names) != 1:
        raise ValueError(f"expected one {what} file, found {names!r}")
    text = archive.read(names[0]).decode("gbk")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(rows))))


def _stated_fee_total(summaries: list[dict[str, str]] | None) -> int | None:
    """The 合计 (total) row's 服务费, as a fee (what Alipay charges); None without a summary."""
    if summaries is None:
        return None
    totals = [row for row in summaries if row["门店编号"].strip() == "合计"]
    if len(totals) != 1:
        raise ValueError(f"expected one 合计 row in the bill's summary, found {len(totals)}")
    return _fee(totals[0]["服务费（元）"].strip())


def _statement_line(row: Mapping[str, str]) -> StatementLine:
    kind = STATEMENT_KINDS[row["业务类型"]]
    received = row["商家实收（元）"].strip()
    request_no = row["退款批次号/请求号"].strip()
    return StatementLine(
        kind=kind,
        out_trade_no=wire.text(row["商户订单号"].strip()),
        channel_trade_no=wire.text(row["支付宝交易号"].strip()),
        amount=yuan(received.removeprefix("-")),
        currency=CURRENCY,
        status=row["业务类型"],
        time=china_moment(row["完成时间"]),
        out_refund_no=request_no if kind == StatementLineKind.REFUND else None,
        fee=_fee(row["服务费（元）"].strip()),
    )


def _fee(text: str) -> int:
    """The bill's 服务费 is money to the merchant: negative on a payment (charged), positive on a
    refund (given back). A line's fee is what the channel charges, so its negation."""
    fen = from_decimal_text(text.removeprefix("-"), CURRENCY)
    return fen if text.startswith("-") else -fen
