"""The sandbox's words and shapes in, our dataclasses out.

Any answer of the wrong shape (missing keys, wrong types, bad values) raises one of
``wire.WRONG_SHAPE``; ``wire.translated`` makes it ChannelUnavailable: unknown, never a crash.
"""

import csv
import io
from collections.abc import Mapping
from datetime import date
from typing import Any

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
            channel_trade_no=wire.text(trade["trade_no"]),
            url=wire.text(trade["pay_url"]),
        )
    return PayAction(
        type=PayActionType.QR,
        channel_trade_no=wire.text(trade["trade_no"]),
        qr_content=wire.text(trade["qr_content"]),
        url=wire.text(trade["pay_url"]),
    )


def trade_result(trade: Mapping[str, Any]) -> TradeResult:
    status = TRADE_STATUSES.get(wire.text(trade["status"]), TradeStatus.UNKNOWN)
    amount = wire.amount(trade.get("amount"))
    currency = wire.optional_text(trade.get("currency"))
    if status == TradeStatus.SUCCEEDED and (amount is None or currency is None):
        raise ValueError("a success must say its amount and currency")
    paid_text = wire.optional_text(trade.get("paid_at"))
    return TradeResult(
        out_trade_no=wire.text(trade["out_trade_no"]),
        status=status,
        channel_trade_no=wire.optional_text(trade.get("trade_no")),
        amount=amount,
        currency=currency,
        paid_at=wire.aware(paid_text) if paid_text else None,
        raw=storable_json(dict(trade)),
    )


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    status = refund.get("status")
    return RefundResult(
        out_refund_no=wire.text(refund["out_refund_no"]),
        status=REFUND_STATUSES.get(wire.optional_text(status), RefundResultStatus.UNKNOWN),
        channel_refund_no=wire.optional_text(refund.get("refund_no")),
        amount=wire.amount(refund.get("amount")),
        currency=wire.optional_text(refund.get("currency")),
        out_trade_no=wire.optional_text(refund.get("out_trade_no")),
        raw=storable_json(dict(refund)),
    )


def notification_result(data: Mapping[str, Any]) -> TradeResult | RefundResult | IgnoredEvent:
    kind = wire.optional_text(data.get("type")) or TRADE_NOTIFICATION
    if kind == TRADE_NOTIFICATION:
        return trade_result(data)
    if kind == REFUND_NOTIFICATION:
        return refund_result(data)
    return IgnoredEvent(
        kind=kind,
        out_trade_no=wire.optional_text(data.get("out_trade_no")),
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
        out_trade_no=wire.text(row["out_trade_no"]),
        channel_trade_no=wire.text(row["trade_no"]),
        amount=wire.amount(int(row["amount"])),
        currency=wire.text(row["currency"]),
        status=wire.text(row["status"]),
        time=wire.aware(row["time"]),
        out_refund_no=row["out_refund_no"] or None,
        channel_refund_no=row["refund_no"] or None,
    )
