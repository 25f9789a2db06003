"""Adapter for the sandbox channel process (sandbox_channel/, documented in docs/sandbox.md).

It speaks the sandbox's HTTP JSON API (client.py), verifies its HMAC-SHA256 notification
signatures (signing.py) and translates its words into ours (transformers.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time

from django.conf import settings

from payments.channels import wire
from payments.channels.base import (
    Capabilities,
    ChannelError,
    CreateTrade,
    Notification,
    NotificationRejected,
    PayAction,
    RefundRef,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
    RejectReason,
    Statement,
    StatementAvailability,
    TradeRef,
    TradeResult,
    TradeStatus,
)
from payments.channels.sandbox import signing, transformers
from payments.channels.sandbox.client import SandboxClient

TRADE_NOT_FOUND, REFUND_NOT_FOUND = "TRADE_NOT_FOUND", "REFUND_NOT_FOUND"


class SandboxChannel:
    capabilities = Capabilities(
        supports_close=True,
        close_not_before_seconds=0,
        expiry_min_seconds=1,  # any time_expire still in the future
        expiry_max_seconds=None,
        partial_refunds=True,
        async_refunds=True,  # with its refund_async fault, a refund answers PROCESSING
        refund_notifications=True,  # for refunds that settle later
        capture_step=False,
        statement=StatementAvailability(time_zone="UTC", ready_at=time(0, 0)),
    )

    def __init__(self, *, code: str, base_url: str, secret: str, timeout: float | None = None):
        self.code = code
        self.secret = secret.encode()
        self.client = SandboxClient(
            base_url=base_url, timeout=timeout or settings.CHANNEL_HTTP_TIMEOUT_SECONDS
        )

    # --- outbound ---------------------------------------------------------------------------

    def create_trade(self, request: CreateTrade) -> PayAction:
        trade = self.client.call(
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
        return wire.translated(
            f"create {request.out_trade_no}", transformers.pay_action, trade, request
        )

    def query_trade(self, trade: TradeRef) -> TradeResult:
        try:
            answer = self.client.call("GET", f"/v1/trades/{trade.out_trade_no}")
        except ChannelError as error:
            if error.code == TRADE_NOT_FOUND:
                return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        return wire.translated(f"query {trade.out_trade_no}", transformers.trade_result, answer)

    def close_trade(self, trade: TradeRef) -> TradeResult:
        try:
            answer = self.client.call("POST", f"/v1/trades/{trade.out_trade_no}/close")
        except ChannelError as error:
            if error.code == TRADE_NOT_FOUND:
                return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        if answer.get("status") == "UNKNOWN":
            return TradeResult(
                out_trade_no=trade.out_trade_no, status=TradeStatus.UNKNOWN, raw=answer
            )
        return wire.translated(f"close {trade.out_trade_no}", transformers.trade_result, answer)

    def refund(self, request: RefundRequest) -> RefundResult:
        answer = self.client.call(
            "POST",
            "/v1/refunds",
            json={
                "out_trade_no": request.out_trade_no,
                "out_refund_no": request.out_refund_no,
                "amount": request.amount,
                "notify_url": request.notify_url,
            },
        )
        return wire.translated(
            f"refund {request.out_refund_no}", transformers.refund_result, answer
        )

    def query_refund(self, refund: RefundRef) -> RefundResult:
        try:
            answer = self.client.call("GET", f"/v1/refunds/{refund.out_refund_no}")
        except ChannelError as error:
            if error.code == REFUND_NOT_FOUND:
                return RefundResult(
                    out_refund_no=refund.out_refund_no, status=RefundResultStatus.NOT_FOUND
                )
            raise
        return wire.translated(
            f"query refund {refund.out_refund_no}", transformers.refund_result, answer
        )

    def statement_lines(self, day: date) -> Statement:
        response = self.client.send(
            "GET", f"/v1/statements/{day.isoformat()}", params={"channel": self.code}
        )
        return wire.translated(f"statement {day}", transformers.statement, day, response.content)

    # --- inbound ----------------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """No I/O: the shared secret is all it needs."""
        lower = {key.lower(): value for key, value in headers.items()}
        timestamp = lower.get("x-sandbox-timestamp", "")
        nonce = lower.get("x-sandbox-nonce", "")
        signed = lower.get("x-sandbox-signature", "")
        if not (timestamp and nonce and signed):
            raise NotificationRejected(
                RejectReason.MISSING_SIGNATURE, "signature headers are missing"
            )
        if not signing.verifies(
            self.secret, timestamp=timestamp, nonce=nonce, body=body, signed=signed
        ):
            raise NotificationRejected(RejectReason.BAD_SIGNATURE, "signature does not verify")
        try:
            data = json.loads(body)
            sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
            result = transformers.notification_result(data)
        except (*wire.WRONG_SHAPE, OverflowError, OSError) as error:  # a timestamp out of range
            raise NotificationRejected(
                RejectReason.MALFORMED, f"unreadable notification: {error}"
            ) from None
        if data.get("channel") != self.code:
            raise NotificationRejected(
                RejectReason.WRONG_CHANNEL, "notification is for another channel"
            )
        return Notification(result=result, timestamp=sent_at, nonce=nonce)

    def acknowledgement(self) -> tuple[int, str, str]:
        return 200, "text/plain", "success"

    def refusal(self, status: int, code: str, message: str) -> tuple[int, str, str]:
        return status, "application/json", json.dumps({"error": {"code": code, "message": message}})
