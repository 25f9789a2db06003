"""The sandbox's words and shapes in, our dataclasses out.

Any answer of the wrong shape (missing keys, wrong types, bad values) raises one of WRONG_SHAPE;
``translated`` turns that into ChannelUnavailable, so a garbled answer is unknown, never a crash.
"""

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from payments.channels.base import (
    ChannelUnavailable,
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
from payments.enums import PaymentClient
from payments.text import storable_json

TRADE_STATUSES = {
    "WAITING": TradeStatus.PAYING,
    "SUCCESS": TradeStatus.SUCCEEDED,
    "CLOSED": TradeStatus.CLOSED,
}
REFUND_STATUSES = {
    "PROCESSING": RefundResultStatus.PROCESSING,
    "SUCCESS": RefundResultStatus.SUCCEEDED,
    "FAILED": RefundResultStatus.FAILED,
}
STATEMENT_KINDS = {"payment": StatementLineKind.PAYMENT, "refund": StatementLineKind.REFUND}
# A notification's "type": trade ones may not say it (older senders); other types are ignored.
TRADE_NOTIFICATION, REFUND_NOTIFICATION = "trade", "refund"
# An amount must also fit the BIGINT columns it is kept in.
MAX_AMOUNT = 2**63 - 1
WRONG_SHAPE = (ValueError, TypeError, KeyError, AttributeError)


def translated(what: str, translate, *args):
    """An answer of the wrong shape is no answer: unknown (ChannelUnavailable), never a crash
    in whoever asked (checkout, sync, the pump)."""
    try:
        return translate(*args)
    except WRONG_SHAPE as error:
        raise ChannelUnavailable(f"{what}: answer of the wrong shape: {error!r}") from None


def pay_action(trade: Mapping[str, Any], request: CreateTrade) -> PayAction:
    """The customer's way to pay, from an answer that must be about the trade we asked for:
    a QR of another trade (a proxy mixing answers up) would have them pay someone else's."""
    created = trade_result(trade)
    if created.out_trade_no != request.out_trade_no:
        raise ValueError(f"create answered about another trade: {created.out_trade_no!r}")
    if (created.amount, created.currency) != (request.amount, request.currency):
        raise ValueError(f"created for {created.amount} {created.currency}, not ours")
    if created.status == TradeStatus.UNKNOWN:
        raise ValueError(f"created in a state we do not know: {trade['status']!r}")
    if request.client == PaymentClient.MOBILE:
        return PayAction(
            type=PayActionType.REDIRECT,
            channel_trade_no=_text(trade["trade_no"]),
            url=_text(trade["pay_url"]),
        )
    return PayAction(
        type=PayActionType.QR,
        channel_trade_no=_text(trade["trade_no"]),
        qr_content=_text(trade["qr_content"]),
        url=_text(trade["pay_url"]),
    )


def trade_result(trade: Mapping[str, Any]) -> TradeResult:
    status = TRADE_STATUSES.get(_text(trade["status"]), TradeStatus.UNKNOWN)
    amount = _amount(trade.get("amount"))
    currency = _optional_text(trade.get("currency"))
    if status == TradeStatus.SUCCEEDED and (amount is None or currency is None):
        raise ValueError("a success must say its amount and currency")
    paid_text = _optional_text(trade.get("paid_at"))
    return TradeResult(
        out_trade_no=_text(trade["out_trade_no"]),
        status=status,
        channel_trade_no=_optional_text(trade.get("trade_no")),
        amount=amount,
        currency=currency,
        paid_at=_aware(paid_text) if paid_text else None,
        raw=storable_json(dict(trade)),
    )


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    status = refund.get("status")
    return RefundResult(
        out_refund_no=_text(refund["out_refund_no"]),
        status=REFUND_STATUSES.get(_optional_text(status), RefundResultStatus.UNKNOWN),
        channel_refund_no=_optional_text(refund.get("refund_no")),
        amount=_amount(refund.get("amount")),
        currency=_optional_text(refund.get("currency")),
        out_trade_no=_optional_text(refund.get("out_trade_no")),
        raw=storable_json(dict(refund)),
    )


def notification_result(data: Mapping[str, Any]) -> TradeResult | RefundResult | IgnoredEvent:
    kind = _optional_text(data.get("type")) or TRADE_NOTIFICATION
    if kind == TRADE_NOTIFICATION:
        return trade_result(data)
    if kind == REFUND_NOTIFICATION:
        return refund_result(data)
    return IgnoredEvent(
        kind=kind,
        out_trade_no=_optional_text(data.get("out_trade_no")),
        raw=storable_json(dict(data)),
    )


def statement(day: date, raw: bytes) -> Statement:
    """The sandbox's daily CSV (sandbox_channel/statement.py): a header, then one line per
    payment and per succeeded refund."""
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    return Statement(day=day, raw=raw, lines=tuple(_statement_line(row) for row in rows))


def _statement_line(row: Mapping[str, str]) -> StatementLine:
    return StatementLine(
        kind=STATEMENT_KINDS[row["type"]],
        out_trade_no=_text(row["out_trade_no"]),
        channel_trade_no=_text(row["trade_no"]),
        amount=_amount(int(row["amount"])),
        currency=_text(row["currency"]),
        status=_text(row["status"]),
        time=_aware(row["time"]),
        out_refund_no=row["out_refund_no"] or None,
        channel_refund_no=row["refund_no"] or None,
    )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"a time must say its time zone: {text!r}")
    return moment


def _amount(amount: Any) -> int | None:
    if amount is not None and not (type(amount) is int and 0 < amount <= MAX_AMOUNT):
        raise ValueError(f"amount must be a positive integer, got {amount!r}")
    return amount


def _text(value: Any) -> str:
    """A string we can keep: PostgreSQL text holds no NUL byte."""
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(f"expected text, got {value!r}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)
