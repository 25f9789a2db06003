"""The one interface every channel adapter implements, and the data that crosses it.

Adapters translate data in and out; they never touch the ORM. A timeout or a 5xx is UNKNOWN,
never FAILED: only the channel's own definite word makes a result final.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class TradeStatus(enum.StrEnum):
    PAYING = "PAYING"  # trade exists, not paid yet
    SUCCEEDED = "SUCCEEDED"
    CLOSED = "CLOSED"
    FAILED = "FAILED"
    NOT_FOUND = "NOT_FOUND"  # the channel has no such trade (not final before the deadline)
    UNKNOWN = "UNKNOWN"  # timeout, 5xx, unreadable answer: we do not know


class RefundResultStatus(enum.StrEnum):
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    NOT_FOUND = "NOT_FOUND"  # a refund query: the channel holds no refund with this number
    UNKNOWN = "UNKNOWN"


class ChannelError(Exception):
    """The channel refused a request (bad request, business rule). For a refund this is only a
    candidate refusal: the service confirms it with a refund query before anything is FAILED."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class ChannelUnavailable(Exception):
    """The channel did not answer usably (timeout, connection error, 5xx, a request of ours
    still in flight, rate limited, an unreadable answer): outcome unknown."""


class NotificationRejected(Exception):
    """An inbound notification that must not be applied: bad signature, malformed body…"""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CreateTrade:
    out_trade_no: str
    amount: int
    currency: str
    subject: str
    notify_url: str
    time_expire: datetime
    client: str  # "pc" | "mobile"
    return_url: str = ""


@dataclass(frozen=True)
class PayAction:
    type: str  # "qr" | "redirect"
    channel_trade_no: str | None = None
    qr_content: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, str]:
        data = {"type": self.type, "qr_content": self.qr_content, "url": self.url}
        return {key: value for key, value in data.items() if value}


@dataclass(frozen=True)
class TradeResult:
    out_trade_no: str
    status: TradeStatus
    channel_trade_no: str | None = None
    amount: int | None = None
    currency: str | None = None
    paid_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    out_trade_no: str
    out_refund_no: str
    amount: int
    total_amount: int
    currency: str
    notify_url: str = ""  # where a channel that finishes refunds later reports the result


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    status: RefundResultStatus
    channel_refund_no: str | None = None
    amount: int | None = None
    currency: str | None = None
    out_trade_no: str | None = None  # the trade refunded, where the channel says
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A verified notification: what it says (a trade's or a refund's result), plus the
    freshness facts the service checks."""

    result: TradeResult | RefundResult
    timestamp: datetime | None
    nonce: str | None


class Channel(Protocol):
    code: str
    supports_close: bool

    def create_trade(self, request: CreateTrade) -> PayAction: ...

    def query_trade(self, out_trade_no: str) -> TradeResult: ...

    def close_trade(self, out_trade_no: str) -> TradeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def query_refund(self, out_refund_no: str) -> RefundResult: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification: ...

    def acknowledgement(self) -> tuple[int, str, str]:
        """The success answer (HTTP status, content type, body) in the channel's dialect."""
        ...

    def download_statement(self, day: str) -> str: ...
