"""Adapter for the sandbox channel process (sandbox_channel/, documented in docs/sandbox.md).

It speaks the sandbox's HTTP JSON API and verifies its HMAC-SHA256 notification signatures
independently of the simulator's own signing code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings

from payments.channels.base import (
    ChannelError,
    ChannelUnavailable,
    CreateTrade,
    Notification,
    NotificationRejected,
    PayAction,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    TradeResult,
    TradeStatus,
)
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

# A request of ours with the same number is still being worked on: it may yet succeed.
IN_FLIGHT_CODES = {"REFUND_IN_PROGRESS"}
# What reading an answer of the wrong shape raises: missing keys, wrong types, bad values.
# An amount must also fit the BIGINT columns it is kept in.
MAX_AMOUNT = 2**63 - 1
WRONG_SHAPE = (ValueError, TypeError, KeyError, AttributeError)


class SandboxChannel:
    supports_close = True

    def __init__(self, *, code: str, base_url: str, secret: str, timeout: float | None = None):
        self.code = code
        self.base_url = base_url.rstrip("/")
        self.secret = secret.encode()
        self.timeout = timeout or settings.CHANNEL_HTTP_TIMEOUT_SECONDS

    # --- outbound ---------------------------------------------------------------------------

    def create_trade(self, request: CreateTrade) -> PayAction:
        trade = self._call(
            "POST",
            "/v1/trades",
            json={
                "channel": self.code,
                "out_trade_no": request.out_trade_no,
                "amount": request.amount,
                "currency": request.currency,
                "subject": request.subject,
                "notify_url": request.notify_url,
                "time_expire": request.time_expire.isoformat(),
                "return_url": request.return_url,
            },
        )
        return _translated(f"create {request.out_trade_no}", _pay_action, trade, request.client)

    def query_trade(self, out_trade_no: str) -> TradeResult:
        try:
            trade = self._call("GET", f"/v1/trades/{out_trade_no}")
        except ChannelError as error:
            if error.code == "TRADE_NOT_FOUND":
                return TradeResult(out_trade_no=out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        return _translated(f"query {out_trade_no}", _trade_result, trade)

    def close_trade(self, out_trade_no: str) -> TradeResult:
        try:
            trade = self._call("POST", f"/v1/trades/{out_trade_no}/close")
        except ChannelError as error:
            if error.code == "TRADE_NOT_FOUND":
                return TradeResult(out_trade_no=out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        if trade.get("status") == "UNKNOWN":
            return TradeResult(out_trade_no=out_trade_no, status=TradeStatus.UNKNOWN, raw=trade)
        return _translated(f"close {out_trade_no}", _trade_result, trade)

    def refund(self, request: RefundRequest) -> RefundResult:
        refund = self._call(
            "POST",
            "/v1/refunds",
            json={
                "out_trade_no": request.out_trade_no,
                "out_refund_no": request.out_refund_no,
                "amount": request.amount,
                "notify_url": request.notify_url,
            },
        )
        return _translated(f"refund {request.out_refund_no}", _refund_result, refund)

    def query_refund(self, out_refund_no: str) -> RefundResult:
        try:
            refund = self._call("GET", f"/v1/refunds/{out_refund_no}")
        except ChannelError as error:
            if error.code == "REFUND_NOT_FOUND":
                return RefundResult(
                    out_refund_no=out_refund_no, status=RefundResultStatus.NOT_FOUND
                )
            raise
        return _translated(f"query refund {out_refund_no}", _refund_result, refund)

    def download_statement(self, day: str) -> str:
        response = self._send("GET", f"/v1/statements/{day}", params={"channel": self.code})
        return response.text

    # --- inbound ----------------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        lower = {key.lower(): value for key, value in headers.items()}
        timestamp = lower.get("x-sandbox-timestamp", "")
        nonce = lower.get("x-sandbox-nonce", "")
        signature = lower.get("x-sandbox-signature", "")
        if not (timestamp and nonce and signature):
            raise NotificationRejected("missing_signature", "signature headers are missing")
        expected = hmac.new(
            self.secret, f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256
        ).hexdigest()
        # compare_digest takes only ASCII str: anything else cannot be our hex digest anyway
        if not (signature.isascii() and hmac.compare_digest(expected, signature)):
            raise NotificationRejected("bad_signature", "signature does not verify")
        try:
            data = json.loads(body)
            sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
            # refund notifications say so; trade ones may not (older senders)
            is_refund = data.get("type") == "refund"
            result = _refund_result(data) if is_refund else _trade_result(data)
        except (*WRONG_SHAPE, OverflowError, OSError) as error:  # a timestamp out of range
            raise NotificationRejected("malformed", f"unreadable notification: {error}") from None
        if data.get("channel") != self.code:
            raise NotificationRejected("wrong_channel", "notification is for another channel")
        return Notification(result=result, timestamp=sent_at, nonce=nonce)

    def acknowledgement(self) -> tuple[int, str, str]:
        return 200, "text/plain", "success"

    # --- HTTP ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        try:
            answer = response.json()
        except ValueError:
            raise ChannelUnavailable(f"{method} {path}: unreadable answer") from None
        if not isinstance(answer, dict):
            raise ChannelUnavailable(f"{method} {path}: answer is not a JSON object")
        return answer

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            response = requests.request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise ChannelUnavailable(f"{method} {path}: {error}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                code, message = str(error.get("code", "ERROR")), str(error.get("message", ""))
            except (ValueError, KeyError, TypeError, AttributeError):
                code, message = f"HTTP_{response.status_code}", response.text[:200]
            if code in IN_FLIGHT_CODES:
                raise ChannelUnavailable(f"{method} {path}: {code} {message}")
            raise ChannelError(code, message)
        return response


# --- translation: answers in, our dataclasses out ------------------------------------------


def _translated(what: str, translate, *args):
    """An answer of the wrong shape is no answer: unknown (ChannelUnavailable), never a crash
    in whoever asked (checkout, sync, the pump)."""
    try:
        return translate(*args)
    except WRONG_SHAPE as error:
        raise ChannelUnavailable(f"{what}: answer of the wrong shape: {error!r}") from None


def _pay_action(trade: Mapping[str, Any], client: str) -> PayAction:
    if client == "mobile":
        return PayAction(
            type="redirect", channel_trade_no=_text(trade["trade_no"]), url=_text(trade["pay_url"])
        )
    return PayAction(
        type="qr",
        channel_trade_no=_text(trade["trade_no"]),
        qr_content=_text(trade["qr_content"]),
        url=_text(trade["pay_url"]),
    )


def _trade_result(trade: Mapping[str, Any]) -> TradeResult:
    status = TRADE_STATUSES.get(_text(trade["status"]), TradeStatus.UNKNOWN)
    amount = _amount(trade.get("amount"))
    currency = _optional_text(trade.get("currency"))
    if status == TradeStatus.SUCCEEDED and (amount is None or currency is None):
        raise ValueError("a success must say its amount and currency")
    paid_text = _optional_text(trade.get("paid_at"))
    paid_at = datetime.fromisoformat(paid_text) if paid_text else None
    if paid_at is not None and paid_at.tzinfo is None:
        raise ValueError("paid_at must say its time zone")
    return TradeResult(
        out_trade_no=_text(trade["out_trade_no"]),
        status=status,
        channel_trade_no=_optional_text(trade.get("trade_no")),
        amount=amount,
        currency=currency,
        paid_at=paid_at,
        raw=storable_json(dict(trade)),
    )


def _refund_result(refund: Mapping[str, Any]) -> RefundResult:
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
