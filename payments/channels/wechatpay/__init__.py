"""Adapter for WeChat Pay API v3 (Native for PC, H5 for mobile), documented in docs/wechatpay.md.

It speaks v3 over HTTP (client.py: every request signed, every answer verified), opens and
verifies callbacks (signing.py) and translates WeChat's words into ours (transformers.py). With
no credentials set it talks to the local emulator (wechatpay_emulator/), whose manifest it reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

from django.conf import settings

from payments.channels import wire
from payments.channels.base import (
    Capabilities,
    ChannelError,
    ChannelUnavailable,
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
from payments.channels.wechatpay import signing, transformers
from payments.channels.wechatpay.certificates import CertificateNotValid
from payments.channels.wechatpay.client import WechatpayClient
from payments.channels.wechatpay.credentials import CredentialFiles, LazyCredentials
from payments.enums import PaymentClient

ORDER_NOT_EXIST, ORDERPAID, RESOURCE_NOT_EXISTS = (
    "ORDER_NOT_EXIST",
    "ORDERPAID",
    "RESOURCE_NOT_EXISTS",
)
NO_STATEMENT_EXIST = "NO_STATEMENT_EXIST"
EXPIRY_MIN_SECONDS = 60  # WeChat: time_expire at least one minute ahead
# API v3's close has no time limit (v2's had 5 minutes: "订单生成后不能马上调用关单接口,
# 最短调用时间间隔为5分钟"). Closing at once is what keeps a switched customer from paying twice;
# an early close WeChat refuses is unknown and the switch waits. Configurable for a v2-like rule.
CLOSE_NOT_BEFORE_SECONDS = 0
DESCRIPTION_MAX_BYTES = 127
H5_SCENE_TYPE = "Wap"


class WechatpayChannel:
    capabilities = Capabilities(
        supports_close=True,
        close_not_before_seconds=CLOSE_NOT_BEFORE_SECONDS,
        expiry_min_seconds=EXPIRY_MIN_SECONDS,
        expiry_max_seconds=None,
        partial_refunds=True,
        async_refunds=True,  # a refund answers PROCESSING and settles later
        refund_notifications=True,  # REFUND.SUCCESS / ABNORMAL / CLOSED
        capture_step=False,
        statement=StatementAvailability(time_zone="Asia/Shanghai", ready_at=time(10, 0)),
    )

    def __init__(
        self,
        *,
        code: str,
        base_url: str,
        manifest_file: str = "",
        mchid: str = "",
        appid: str = "",
        merchant_private_key_file: str = "",
        merchant_certificate_serial: str = "",
        apiv3_key_file: str = "",
        platform_public_key_file: str = "",
        platform_public_key_id: str = "",
        payer_client_ip: str = "127.0.0.1",
        timeout: float | None = None,
        close_not_before_seconds: int = CLOSE_NOT_BEFORE_SECONDS,
    ):
        self.code = code
        # 0 for API v3; an operator who sees early closes refused may set a window
        self.capabilities = replace(
            type(self).capabilities, close_not_before_seconds=close_not_before_seconds
        )
        self.payer_client_ip = payer_client_ip
        self.credentials = LazyCredentials(
            CredentialFiles(
                manifest_file=manifest_file,
                mchid=mchid,
                appid=appid,
                merchant_private_key_file=merchant_private_key_file,
                merchant_certificate_serial=merchant_certificate_serial,
                apiv3_key_file=apiv3_key_file,
                platform_public_key_file=platform_public_key_file,
                platform_public_key_id=platform_public_key_id,
            )
        )
        self.client = WechatpayClient(
            base_url=base_url,
            credentials=self.credentials,
            timeout=timeout or settings.CHANNEL_HTTP_TIMEOUT_SECONDS,
        )

    # --- outbound ---------------------------------------------------------------------------

    def create_trade(self, request: CreateTrade) -> PayAction:
        if request.time_expire < datetime.now(UTC) + timedelta(seconds=EXPIRY_MIN_SECONDS):
            raise ChannelError("PARAM_ERROR", "time_expire must be at least 1 minute ahead")
        credentials = self.credentials.get()
        body = {
            "appid": credentials.appid,
            "mchid": credentials.mchid,
            "description": _description(request.subject),
            "out_trade_no": request.out_trade_no,
            "time_expire": request.time_expire.astimezone(transformers.BEIJING).isoformat(
                timespec="seconds"
            ),
            "notify_url": request.notify_url,
            "amount": {"total": request.amount, "currency": request.currency},
        }
        if request.client == PaymentClient.MOBILE:
            path = "/v3/pay/transactions/h5"
            body["scene_info"] = {
                "payer_client_ip": self.payer_client_ip,
                "h5_info": {"type": H5_SCENE_TYPE},
            }
        else:
            path = "/v3/pay/transactions/native"
        answer = self.client.call("POST", path, body=body)
        return wire.translated(
            f"create {request.out_trade_no}", transformers.pay_action, answer.data, request
        )

    def query_trade(self, trade: TradeRef) -> TradeResult:
        path = f"/v3/pay/transactions/out-trade-no/{quote(trade.out_trade_no, safe='')}"
        try:
            answer = self.client.call("GET", path, params={"mchid": self._mchid()})
        except ChannelError as error:
            if error.code == ORDER_NOT_EXIST:
                return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        return wire.translated(
            f"query {trade.out_trade_no}", transformers.trade_result, answer.data
        )

    def close_trade(self, trade: TradeRef) -> TradeResult:
        path = f"/v3/pay/transactions/out-trade-no/{quote(trade.out_trade_no, safe='')}/close"
        try:
            answer = self.client.call("POST", path, body={"mchid": self._mchid()})
        except ChannelError as error:
            if error.code == ORDERPAID:  # the close answer does not say the payment: ask
                return self.query_trade(trade)
            if error.code == ORDER_NOT_EXIST:
                return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.NOT_FOUND)
            raise
        if answer.status != 204 or answer.data:
            raise ChannelUnavailable(f"close {trade.out_trade_no}: not WeChat's 204 answer")
        return TradeResult(out_trade_no=trade.out_trade_no, status=TradeStatus.CLOSED)

    def refund(self, request: RefundRequest) -> RefundResult:
        body = {
            "out_trade_no": request.out_trade_no,
            "out_refund_no": request.out_refund_no,
            "amount": {
                "refund": request.amount,
                "total": request.total_amount,
                "currency": request.currency,
            },
        }
        if request.notify_url:
            body["notify_url"] = request.notify_url
        answer = self.client.call("POST", "/v3/refund/domestic/refunds", body=body)
        return wire.translated(
            f"refund {request.out_refund_no}", transformers.refund_result, answer.data
        )

    def query_refund(self, refund: RefundRef) -> RefundResult:
        path = f"/v3/refund/domestic/refunds/{quote(refund.out_refund_no, safe='')}"
        try:
            answer = self.client.call("GET", path)
        except ChannelError as error:
            if error.code == RESOURCE_NOT_EXISTS:
                return RefundResult(
                    out_refund_no=refund.out_refund_no, status=RefundResultStatus.NOT_FOUND
                )
            raise
        return wire.translated(
            f"query refund {refund.out_refund_no}", transformers.refund_result, answer.data
        )

    def statement_lines(self, day: date) -> Statement:
        params = {"bill_date": day.isoformat(), "bill_type": "ALL", "tar_type": "GZIP"}
        try:
            answer = self.client.call("GET", "/v3/bill/tradebill", params=params)
        except ChannelError as error:
            if error.code == NO_STATEMENT_EXIST:  # nothing happened that day
                return Statement(day=day, raw=b"", lines=())
            raise
        url, sha1 = wire.translated(f"statement {day}", transformers.bill_download, answer.data)
        raw = self.client.download(url)
        return wire.translated(f"statement {day}", transformers.statement, day, raw, sha1)

    def _mchid(self) -> str:
        return self.credentials.get().mchid

    # --- inbound ----------------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verified with the platform key the serial names, then the resource decrypted."""
        lower = {key.lower(): value for key, value in headers.items()}
        timestamp = lower.get("wechatpay-timestamp", "")
        nonce = lower.get("wechatpay-nonce", "")
        signature = lower.get("wechatpay-signature", "")
        serial = lower.get("wechatpay-serial", "")
        if not (timestamp and nonce and signature and serial):
            raise NotificationRejected(
                RejectReason.MISSING_SIGNATURE, "Wechatpay-* signature headers are missing"
            )
        credentials = self.credentials.get()
        try:
            key = self.client.platform_key(serial)  # may download certificates: unavailable if not
        except CertificateNotValid as error:
            raise NotificationRejected(RejectReason.BAD_SIGNATURE, str(error)) from None
        if key is None:
            raise NotificationRejected(
                RejectReason.BAD_SIGNATURE, f"signed by a key we do not hold: {serial[:64]!r}"
            )
        if not signing.verifies(
            key, timestamp=timestamp, nonce=nonce, body=body, signature=signature
        ):
            raise NotificationRejected(RejectReason.BAD_SIGNATURE, "signature does not verify")
        try:
            envelope = json.loads(body)
            plaintext = signing.decrypt_resource(credentials.apiv3_key, envelope["resource"])
        except signing.UndecryptableResource as error:
            raise NotificationRejected(RejectReason.BAD_SIGNATURE, str(error)) from None
        except wire.WRONG_SHAPE as error:
            raise NotificationRejected(
                RejectReason.MALFORMED, f"unreadable notification: {error!r}"
            ) from None
        try:
            resource = json.loads(plaintext)
            sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
            result = transformers.notification_result(envelope["event_type"], resource)
            merchant = resource.get("mchid")
        except (*wire.WRONG_SHAPE, OverflowError, OSError) as error:  # a timestamp out of range
            raise NotificationRejected(
                RejectReason.MALFORMED, f"unreadable notification: {error!r}"
            ) from None
        if merchant != credentials.mchid:
            raise NotificationRejected(
                RejectReason.WRONG_CHANNEL, "notification is for another merchant"
            )
        return Notification(result=result, timestamp=sent_at, nonce=nonce)

    def acknowledgement(self) -> tuple[int, str, str]:
        return 204, "application/json", ""

    def refusal(self, status: int, code: str, message: str) -> tuple[int, str, str]:
        # WeChat's documented failure answer: {"code": "FAIL", "message": …} with a 4xx/5xx
        return (
            status,
            "application/json",
            json.dumps({"code": "FAIL", "message": f"{code}: {message}"}),
        )


def _description(subject: str) -> str:
    """WeChat takes at most 127 bytes of UTF-8: cut at a character boundary."""
    encoded = subject.encode()[:DESCRIPTION_MAX_BYTES]
    return encoded.decode(errors="ignore") or "-"
