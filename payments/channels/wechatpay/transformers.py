"""WeChat Pay's words and shapes in, our dataclasses out.

Every status word WeChat documents is mapped; any other is UNKNOWN. An answer of the wrong shape
raises one of wire.WRONG_SHAPE, which ``translated`` (the sandbox's) turns into ChannelUnavailable.
"""

import gzip
import hashlib
import logging
import re
import zlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from payments.channels import wire
from payments.channels.base import (
    CreateTrade,
    IgnoredEvent,
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
from payments.channels.money import exponent, from_decimal_text
from payments.enums import PaymentClient
from payments.text import storable_json

logger = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
TRADE_STATES = {
    "NOTPAY": TradeStatus.PAYING,
    "USERPAYING": TradeStatus.PAYING,
    "SUCCESS": TradeStatus.SUCCEEDED,
    "REFUND": TradeStatus.SUCCEEDED,  # paid, then (partly) refunded: still money received
    "CLOSED": TradeStatus.CLOSED,
    "REVOKED": TradeStatus.CLOSED,
    "PAYERROR": TradeStatus.FAILED,
}
REFUND_STATUSES = {
    "SUCCESS": RefundResultStatus.SUCCEEDED,
    "CLOSED": RefundResultStatus.FAILED,
    "PROCESSING": RefundResultStatus.PROCESSING,
    # the buyer's account refused it: WeChat needs a merchant's action, it is not final
    "ABNORMAL": RefundResultStatus.PROCESSING,
}
TRADE_EVENTS = {"TRANSACTION.SUCCESS"}
REFUND_EVENTS = {"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"}
BILL_KINDS = {"SUCCESS": StatementLineKind.PAYMENT, "REFUND": StatementLineKind.REFUND}
BILL_SUMMARY_FIRST_COLUMN = "总交易单数"
BILL_FEE_TOTAL_COLUMN = "手续费总金额"
# A bill's fee: yuan with five decimals, negative on refunds ("0.74000", "-0.14000"); bounded,
# so that no text can make a number PostgreSQL cannot keep.
BILL_FEE = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,10})?")


def pay_action(answer: Mapping[str, Any], request: CreateTrade) -> PayAction:
    """WeChat's create answer carries only the URL; anything in it about another trade, another
    amount or a trade state is not a create answer (a QR of someone else's trade must never reach
    a customer)."""
    if set(answer) - {"code_url", "h5_url"}:
        raise ValueError(f"a create answer says more than a URL: {sorted(answer)}")
    if request.client == PaymentClient.MOBILE:
        return PayAction(type=PayActionType.REDIRECT, url=_h5_url(answer, request.return_url))
    code_url = wire.text(answer["code_url"])
    return PayAction(type=PayActionType.QR, qr_content=code_url, url=code_url)


def _h5_url(answer: Mapping[str, Any], return_url: str) -> str:
    url = wire.text(answer["h5_url"])
    if not return_url:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}redirect_url={quote(return_url, safe='')}"


def trade_result(trade: Mapping[str, Any]) -> TradeResult:
    status = TRADE_STATES.get(wire.text(trade["trade_state"]), TradeStatus.UNKNOWN)
    amount = trade.get("amount")
    total = wire.amount(amount["total"]) if amount is not None else None
    currency = wire.optional_text(amount.get("currency")) if amount is not None else None
    if status == TradeStatus.SUCCEEDED and (total is None or currency is None):
        raise ValueError("a success must say its amount and currency")
    success_time = wire.optional_text(trade.get("success_time"))
    return TradeResult(
        out_trade_no=wire.text(trade["out_trade_no"]),
        status=status,
        channel_trade_no=wire.optional_text(trade.get("transaction_id")),
        amount=total,
        currency=currency,
        paid_at=wire.aware(success_time) if success_time else None,
        raw=storable_json(dict(trade)),
    )


def refund_result(refund: Mapping[str, Any], status_key: str = "status") -> RefundResult:
    """A refund as the refund answers show it (``status``) or its callback (``refund_status``)."""
    amount = refund["amount"]
    return RefundResult(
        out_refund_no=wire.text(refund["out_refund_no"]),
        status=REFUND_STATUSES.get(wire.text(refund[status_key]), RefundResultStatus.UNKNOWN),
        channel_refund_no=wire.optional_text(refund.get("refund_id")),
        amount=wire.amount(amount["refund"]),
        currency=wire.optional_text(amount.get("currency")),
        out_trade_no=wire.optional_text(refund.get("out_trade_no")),
        raw=storable_json(dict(refund)),
    )


def notification_result(
    event_type: Any, resource: Mapping[str, Any]
) -> TradeResult | RefundResult | IgnoredEvent:
    event_type = wire.text(event_type)
    if event_type in TRADE_EVENTS:
        return trade_result(resource)
    if event_type in REFUND_EVENTS:
        return refund_result(resource, status_key="refund_status")
    return IgnoredEvent(
        kind=event_type,
        out_trade_no=wire.optional_text(resource.get("out_trade_no")),
        raw=storable_json(dict(resource)),
    )


def bill_download(answer: Mapping[str, Any]) -> tuple[str, str]:
    """(download URL, SHA1 of the uncompressed bill) from the signed tradebill answer."""
    if answer["hash_type"] != "SHA1":
        raise ValueError(f"a bill hash of type {answer['hash_type']!r}")
    return wire.text(answer["download_url"]), wire.text(answer["hash_value"])


def statement(day: date, raw: bytes, sha1: str) -> Statement:
    """WeChat's gzipped trade bill (``ALL`` layout), checked against the signed hash of its
    uncompressed text: a header, detail lines whose fields start with a backquote, then a
    summary header and line (not lines of ours)."""
    try:
        uncompressed = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:  # gzip's own ways to say "not gzip"
        raise ValueError(f"the bill does not open: {error!r}") from None
    if hashlib.sha1(uncompressed).hexdigest() != sha1.lower():  # noqa: S324 (WeChat's choice)
        raise ValueError("the bill does not match its hash")
    text = uncompressed.decode("utf-8")
    rows = [row for row in text.split("\r\n") if row]
    header = rows[0].split(",")
    lines = []
    summary: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=1):
        if row.startswith(BILL_SUMMARY_FIRST_COLUMN):
            summary = _fields(row.split(","), rows[number + 1] if number + 1 < len(rows) else "")
            break
        lines.append(_bill_line(_fields(header, row)))
    fee_total = _fee_total(summary, lines)
    return Statement(day=day, raw=raw, lines=tuple(lines), fee_total=fee_total)


def _fields(header: list[str], row: str) -> dict[str, str]:
    fields = [field.removeprefix("`") for field in row.split(",")]
    if len(fields) != len(header):
        raise ValueError(f"a bill line of {len(fields)} fields, not {len(header)}")
    return dict(zip(header, fields, strict=True))


def _fee_total(summary: Mapping[str, str], lines: list[StatementLine]) -> int:
    """The summary's day fee total. WeChat writes each line's fee already rounded to the fen, so
    the lines add up to it; a file where they do not is kept as it is and logged for finance."""
    currencies = {line.currency for line in lines} or {"CNY"}
    if len(currencies) != 1:
        raise ValueError(f"a bill in several currencies: {sorted(currencies)}")
    total = _bill_fee(summary[BILL_FEE_TOTAL_COLUMN], currencies.pop())
    lines_total = sum(line.fee or 0 for line in lines)
    if total != lines_total:
        logger.warning(
            "wechatpay bill fee total %s differs from its lines' fees %s (minor units)",
            total,
            lines_total,
        )
    return total


def _bill_fee(text: str, currency: str) -> int:
    """Yuan with five decimals to minor units, exactly (Decimal from the text, never a float).
    WeChat charges each transaction its fee rounded half up to the fen; a fee the file writes
    with a fraction of a fen is rounded by that same rule (away from zero on a refund's)."""
    if not BILL_FEE.fullmatch(text):
        raise ValueError(f"not a fee in yuan: {text!r}")
    minor = Decimal(text).scaleb(exponent(currency))
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _bill_line(row: Mapping[str, str]) -> StatementLine:
    kind = BILL_KINDS[row["交易状态"]]
    currency = wire.text(row["货币种类"])
    refund = kind == StatementLineKind.REFUND
    amount = row["申请退款金额"] if refund else row["订单金额"]
    return StatementLine(
        kind=kind,
        out_trade_no=wire.text(row["商户订单号"]),
        channel_trade_no=wire.text(row["微信订单号"]),
        amount=wire.amount(from_decimal_text(amount, currency)),
        currency=currency,
        status=wire.text(row["退款状态"] if refund else row["交易状态"]),
        time=datetime.strptime(row["交易时间"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING),
        out_refund_no=wire.text(row["商户退款单号"]) if refund else None,
        channel_refund_no=wire.text(row["微信退款单号"]) if refund else None,
        fee=_bill_fee(row["手续费"], currency),
    )
