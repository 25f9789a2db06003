"""The one interface every channel adapter implements, and the data that crosses it.

Adapters translate data in and out; they never touch the ORM. A timeout or a 5xx is UNKNOWN,
never FAILED: only the channel's own definite word makes a result final. How to add a channel,
and the contract suite every adapter must pass, are in docs/channels.md.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from payments.enums import PaymentClient


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


class RejectReason(enum.StrEnum):
    """Why a stored notification was not applied. The values are what the inbox row keeps in
    ``error_code`` (and the 400 answer says), so they never change."""

    MISSING_SIGNATURE = "missing_signature"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    WRONG_CHANNEL = "wrong_channel"
    STALE = "stale"
    REPLAYED = "replayed"
    UNKNOWN_TRADE = "unknown_trade"
    UNKNOWN_REFUND = "unknown_refund"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNKNOWN_CHANNEL = "unknown_channel"
    TOO_LARGE = "too_large"

    @property
    def signature_checked(self) -> bool:
        """False when the signature itself is what failed (the row's signature_valid)."""
        return self not in (RejectReason.MISSING_SIGNATURE, RejectReason.BAD_SIGNATURE)


class PayActionType(enum.StrEnum):
    QR = "qr"  # show qr_content as a QR code (url, if any, opens the same payment)
    REDIRECT = "redirect"  # send the customer's browser to url
    FORM = "form"  # an auto-submitting form: form_method to url with form_fields (UnionPay)
    CLIENT = "client"  # hand client_params to the channel's SDK (WeChat JSAPI, Stripe secret)


class ChannelError(Exception):
    """The channel refused a request (bad request, business rule). For a refund this is only a
    candidate refusal: the service confirms it with a refund query before anything is FAILED."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class ChannelUnavailable(Exception):
    """The channel did not answer usably (timeout, connection error, 5xx, a request of ours
    still in flight, rate limited, an unreadable answer): outcome unknown. Raised by
    parse_notification it means "cannot verify now" (a certificate could not be fetched):
    the stored notification is tried again later."""


class NotificationRejected(Exception):
    """An inbound notification that must not be applied: bad signature, malformed body…"""

    def __init__(self, reason: RejectReason, message: str):
        super().__init__(message)
        self.reason = RejectReason(reason)
        self.message = message

    @property
    def code(self) -> str:
        return self.reason.value


@dataclass(frozen=True)
class StatementAvailability:
    """When the statement of a day can be fetched: from ``ready_at`` on the next day, in the
    channel's time zone (its days are that zone's days, too)."""

    time_zone: str
    ready_at: time


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do, as data the services read instead of asking the adapter's type."""

    supports_close: bool
    # Some channels refuse a close right after create (WeChat Pay: 5 minutes).
    close_not_before_seconds: int
    # The range a trade's time_expire may lie in, measured from create.
    expiry_min_seconds: int
    expiry_max_seconds: int | None
    partial_refunds: bool
    # A refund may answer PROCESSING and settle later (query or notification).
    async_refunds: bool
    refund_notifications: bool
    # An authorised payment must be captured before it is money (cards).
    capture_step: bool
    statement: StatementAvailability | None
    # The least time between refund calls on one trade (Alipay asks for 3 s): the refund
    # executor defers a refund whose trade's last refund call is more recent.
    refund_call_spacing_seconds: float = 0


@dataclass(frozen=True)
class TradeRef:
    """How the channel knows a trade: our out_trade_no, its trade number once it said one, and
    whatever else it returned that later calls need (a session id, a txnTime…)."""

    out_trade_no: str
    channel_trade_no: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRef:
    """How the channel knows a refund; its trade's reference comes along (Alipay's refund query
    needs out_trade_no as well as out_request_no)."""

    out_refund_no: str
    trade: TradeRef
    channel_refund_no: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateTrade:
    out_trade_no: str
    amount: int
    currency: str
    subject: str
    notify_url: str
    time_expire: datetime
    client: PaymentClient
    return_url: str = ""


@dataclass(frozen=True)
class PayAction:
    """What the customer needs to pay, and what the channel said of the trade it created."""

    type: PayActionType
    channel_trade_no: str | None = None
    qr_content: str | None = None
    url: str | None = None
    form_method: str | None = None
    form_fields: Mapping[str, str] = field(default_factory=dict)
    client_params: Mapping[str, str] = field(default_factory=dict)
    # kept on the payment and handed back in its TradeRef on every later call
    refs: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """What the customer's page needs (kept on the payment as ``pay_action``)."""
        data = {
            "type": str(self.type),
            "qr_content": self.qr_content,
            "url": self.url,
            "method": self.form_method,
            "fields": dict(self.form_fields),
            "params": dict(self.client_params),
        }
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
    trade: TradeRef
    out_refund_no: str
    amount: int
    total_amount: int
    currency: str
    notify_url: str = ""  # where a channel that finishes refunds later reports the result

    @property
    def out_trade_no(self) -> str:
        return self.trade.out_trade_no


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    status: RefundResultStatus
    channel_refund_no: str | None = None
    amount: int | None = None
    currency: str | None = None
    out_trade_no: str | None = None  # the trade refunded, where the channel says
    # kept on the refund and handed back in its RefundRef on every later call
    refs: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Where a channel reports the trade's refunded total after this refund instead of the
    # refund's own amount (Alipay's refund notify): checked against the refunds we know.
    trade_refunded_total: int | None = None


@dataclass(frozen=True)
class IgnoredEvent:
    """A verified notification of a kind we do not act on (an account event, a dispute opened
    elsewhere…): acknowledged so the channel stops sending it, and changes nothing."""

    kind: str
    out_trade_no: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A verified notification: what it says, plus the freshness facts the service checks."""

    result: TradeResult | RefundResult | IgnoredEvent
    timestamp: datetime | None
    nonce: str | None


class StatementLineKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class StatementLine:
    kind: StatementLineKind
    out_trade_no: str
    channel_trade_no: str
    amount: int  # minor units: the payment's, or the refund's
    currency: str
    status: str  # the channel's own word, as the file says it
    time: datetime
    out_refund_no: str | None = None
    channel_refund_no: str | None = None
    # Minor units: the channel's fee on this line, where the file says it; what it charged is
    # positive, what it gave back (a refund's share of the fee) negative.
    fee: int | None = None


@dataclass(frozen=True)
class Statement:
    """One day's statement: the file exactly as the channel shipped it, and its lines."""

    day: date
    raw: bytes
    lines: tuple[StatementLine, ...]
    # The day's fees as the file's own summary states them (None: it states none); it may
    # differ from the sum of the lines' fees, which is then for finance to see.
    fee_total: int | None = None


class Channel(Protocol):
    """Every call may do network I/O and may raise ChannelUnavailable (outcome unknown) or
    ChannelError (the channel's definite refusal). Calls about an existing trade or refund take
    the reference kept from the call that created it."""

    code: str
    capabilities: Capabilities

    def create_trade(self, request: CreateTrade) -> PayAction: ...

    def query_trade(self, trade: TradeRef) -> TradeResult: ...

    def close_trade(self, trade: TradeRef) -> TradeResult: ...

    def refund(self, request: RefundRequest) -> RefundResult: ...

    def query_refund(self, refund: RefundRef) -> RefundResult: ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and read a stored notification. May do I/O (fetching a platform
        certificate); NotificationRejected is final, ChannelUnavailable means retry later."""
        ...

    def acknowledgement(self) -> tuple[int, str, str]:
        """The success answer (HTTP status, content type, body) in the channel's dialect."""
        ...

    def refusal(self, status: int, code: str, message: str) -> tuple[int, str, str]:
        """A refused or not yet processed notification's answer in the channel's dialect: any
        answer but its success makes the channel send it again."""
        ...

    def statement_lines(self, day: date) -> Statement:
        """The day's statement (a day in the channel's time zone), parsed; raw bytes kept."""
        ...
