"""Adapter for Alipay's open platform (RSA2, public-key mode), documented in docs/alipay.md.

It speaks the gateway's signed form POSTs and verifies every answer (client.py, signing.py) and
translates Alipay's words into ours (transformers.py). Credentials are an app id and two PEM key
files; with none configured they are read from the emulator's manifest at first use, since the
emulator may start after the settings are loaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from payments.channels import wire
from payments.channels.alipay import signing, transformers
from payments.channels.alipay.client import REFUND_REFUSALS, AlipayClient
from payments.channels.base import (
    Capabilities,
    ChannelError,
    ChannelUnavailable,
    CreateTrade,
    Notification,
    NotificationRejected,
    PayAction,
    PayActionType,
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
from payments.channels.http import channel_session
from payments.enums import PaymentClient

PRECREATE = "alipay.trade.precreate"
WAP_PAY = "alipay.trade.wap.pay"
QUERY = "alipay.trade.query"
CLOSE = "alipay.trade.close"
REFUND = "alipay.trade.refund"
REFUND_QUERY = "alipay.trade.fastpay.refund.query"
BILL_URL = "alipay.data.dataservice.bill.downloadurl.query"
WAP_PRODUCT_CODE = "QUICK_WAP_WAY"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
# A close of a trade that is not WAIT_BUYER_PAY (paid, finished or closed): ask what it is.
TRADE_STATUS_ERROR = "ACQ.TRADE_STATUS_ERROR"


@dataclass(frozen=True)
class Credentials:
    app_id: str
    app_private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey


class AlipayChannel:
    capabilities = Capabilities(
        supports_close=True,
        close_not_before_seconds=0,
        # Alipay takes time_expire up to 15 days ahead; its cashier wants a minute at least.
        expiry_min_seconds=60,
        expiry_max_seconds=15 * 24 * 3600,
        partial_refunds=True,  # out_request_no is required for them
        async_refunds=False,  # alipay.trade.refund answers synchronously
        refund_notifications=True,  # a notify once a refund moved money (trade_status_sync)
        capture_step=False,
        statement=StatementAvailability(time_zone="Asia/Shanghai", ready_at=time(10, 0)),
        refund_call_spacing_seconds=3,  # Alipay: 3 s at least between refunds of one trade
    )

    def __init__(
        self,
        *,
        code: str,
        gateway_url: str,
        app_id: str = "",
        app_private_key_file: str = "",
        alipay_public_key_file: str = "",
        manifest_file: str = "",
        timeout: float | None = None,
        refund_call_spacing_seconds: float | None = None,
    ):
        self.code = code
        if refund_call_spacing_seconds is not None:  # tests shrink Alipay's 3 s
            self.capabilities = replace(
                type(self).capabilities, refund_call_spacing_seconds=refund_call_spacing_seconds
            )
        self.gateway_url = gateway_url
        self._configured = (app_id, app_private_key_file, alipay_public_key_file)
        self._manifest_file = manifest_file
        self._credentials: Credentials | None = None
        self._credentials_lock = threading.Lock()
        self.timeout = timeout or settings.CHANNEL_HTTP_TIMEOUT_SECONDS
        self.client = AlipayClient(gateway_url=gateway_url, timeout=self.timeout)

    # --- credentials ------------------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """Read at first use: the emulator writes its manifest when it first starts."""
        with self._credentials_lock:
            if self._credentials is None:
                self._credentials = self._read_credentials()
            return self._credentials

    def _read_credentials(self) -> Credentials:
        app_id, private_file, public_file = self._configured
        if any(self._configured) and not all(self._configured):
            # a real account half configured must not silently become the emulator
            raise ChannelUnavailable(
                "Alipay credentials partly configured: set the app id and both key files"
            )
        try:
            if not app_id:
                manifest = json.loads(Path(self._manifest_file).read_text())
                app_id = manifest["app_id"]
                private_file = manifest["app_private_key_file"]
                public_file = manifest["alipay_public_key_file"]
            private_key = serialization.load_pem_private_key(Path(private_file).read_bytes(), None)
            public_key = serialization.load_pem_public_key(Path(public_file).read_bytes())
            if not isinstance(private_key, rsa.RSAPrivateKey) or not isinstance(
                public_key, rsa.RSAPublicKey
            ):
                raise TypeError("Alipay RSA2 needs RSA keys")
        except (OSError, ValueError, KeyError, TypeError) as error:
            # not yet written (the emulator starts later) or unreadable: ask again later
            raise ChannelUnavailable(f"no usable Alipay credentials: {error!r}") from None
        return Credentials(app_id, private_key, public_key)

    def _params(self, method: str, biz: Mapping, extra: Mapping[str, str] | None = None):
        credentials = self.credentials
        return self.client.signed_params(
            app_id=credentials.app_id,
            private_key=credentials.app_private_key,
            method=method,
            biz_content=biz,
            now=datetime.now(UTC),
            extra=extra,
        )

    def _call(
        self,
        method: str,
        biz: Mapping,
        extra: Mapping[str, str] | None = None,
        definite: frozenset[str] | None = None,
    ):
        params = self._params(method, biz, extra)
        return self.client.call(method, params, self.credentials.alipay_public_key, definite)

    # --- outbound ---------------------------------------------------------------------------

    def create_trade(self, request: CreateTrade) -> PayAction:
        if request.currency != transformers.CURRENCY:
            raise ChannelError("UNSUPPORTED_CURRENCY", f"Alipay takes CNY, not {request.currency}")
        biz = {
            "out_trade_no": request.out_trade_no,
            "total_amount": transformers.to_yuan(request.amount),
            "subject": request.subject,
            "time_expire": transformers.china_text(request.time_expire),
        }
        if request.client == PaymentClient.MOBILE:
            return self._wap_action(request, biz)
        answer = self._call(PRECREATE, biz, {"notify_url": request.notify_url})
        return wire.translated(
            f"precreate {request.out_trade_no}",
            transformers.precreate_action,
            answer,
            request.out_trade_no,
        )

    def _wap_action(self, request: CreateTrade, biz: Mapping) -> PayAction:
        """wap.pay is not called but opened by the buyer's browser: a signed gateway URL."""
        biz = {**biz, "product_code": WAP_PRODUCT_CODE, "quit_url": request.return_url}
        extra = {"notify_url": request.notify_url, "return_url": request.return_url}
        query = urlencode(self._params(WAP_PAY, biz, extra))
        return PayAction(type=PayActionType.REDIRECT, url=f"{self.gateway_url}?{query}")

    def query_trade(self, trade: TradeRef) -> TradeResult:
        try:
            answer = self._call(QUERY, {"out_trade_no": trade.out_trade_no})
        except ChannelError as error:
            if error.code == TRADE_NOT_EXIST:  # a pre-created QR not scanned yet, too
                return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        return wire.translated(
            f"query {trade.out_trade_no}", transformers.trade_result, answer, trade.out_trade_no
        )

    def close_trade(self, trade: TradeRef) -> TradeResult:
        try:
            answer = self._call(CLOSE, {"out_trade_no": trade.out_trade_no})
        except ChannelError as error:
            if error.code == TRADE_NOT_EXIST:
                return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.NOT_FOUND)
            if error.code == TRADE_STATUS_ERROR:
                return self.query_trade(trade)
            raise
        return wire.translated(
            f"close {trade.out_trade_no}", transformers.closed_result, answer, trade.out_trade_no
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        answer = self._call(
            REFUND,
            {
                "out_trade_no": request.out_trade_no,
                "refund_amount": transformers.to_yuan(request.amount),
                "out_request_no": request.out_refund_no,
            },
            definite=REFUND_REFUSALS,
        )
        return wire.translated(
            f"refund {request.out_refund_no}",
            transformers.refund_result,
            answer,
            request.out_trade_no,
            request.out_refund_no,
        )

    def query_refund(self, refund: RefundRef) -> RefundResult:
        out_trade_no = refund.trade.out_trade_no
        try:
            answer = self._call(
                REFUND_QUERY, {"out_trade_no": out_trade_no, "out_request_no": refund.out_refund_no}
            )
        except ChannelError as error:
            if error.code == TRADE_NOT_EXIST:
                return RefundResult(
                    out_refund_no=refund.out_refund_no, status=RefundResultStatus.NOT_FOUND
                )
            raise
        return wire.translated(
            f"query refund {refund.out_refund_no}",
            transformers.refund_query_result,
            answer,
            out_trade_no,
            refund.out_refund_no,
        )

    def statement_lines(self, day: date) -> Statement:
        answer = self._call(BILL_URL, {"bill_type": "trade", "bill_date": day.isoformat()})
        url = answer.get("bill_download_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChannelUnavailable(f"statement {day}: no bill_download_url")
        try:  # the URL lives 30 seconds: fetched at once
            response = channel_session().get(url, timeout=self.timeout)
        except requests.RequestException as error:
            raise ChannelUnavailable(f"statement {day}: {error}") from error
        if response.status_code != 200:
            raise ChannelUnavailable(f"statement {day}: HTTP {response.status_code}")
        return wire.translated(f"statement {day}", transformers.statement, day, response.content)

    # --- inbound ----------------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """A form-encoded trade_status_sync, signed over its sorted params (no I/O beyond the
        key files)."""
        try:
            params = dict(
                parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            )
        except ValueError as error:
            raise NotificationRejected(RejectReason.MALFORMED, f"not a form: {error}") from None
        signature = params.get("sign", "")
        if not signature:
            raise NotificationRejected(RejectReason.MISSING_SIGNATURE, "the notify has no sign")
        message = signing.signing_string(params, signing.NOTIFY_UNSIGNED)
        if params.get("sign_type") != "RSA2" or not signing.verifies(
            self.credentials.alipay_public_key, message, signature
        ):
            raise NotificationRejected(RejectReason.BAD_SIGNATURE, "signature does not verify")
        if params.get("app_id") != self.credentials.app_id:
            raise NotificationRejected(RejectReason.WRONG_CHANNEL, "notify for another app_id")
        try:
            result = transformers.notification_result(params)
            sent_at = transformers.china_moment(params["notify_time"])
            nonce = transformers.notify_id(params)
        except wire.WRONG_SHAPE as error:
            raise NotificationRejected(
                RejectReason.MALFORMED, f"unreadable notify: {error!r}"
            ) from None
        return Notification(result=result, timestamp=sent_at, nonce=nonce)

    def acknowledgement(self) -> tuple[int, str, str]:
        return 200, "text/plain", "success"

    def refusal(self, status: int, code: str, message: str) -> tuple[int, str, str]:
        # Alipay retries on any body but "success"; the reason is for the logs and our inbox
        return status, "text/plain", f"fail: {code}"
