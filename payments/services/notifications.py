"""The callback inbox: store raw first, then verify, then apply through the one result service.

Every rejection (bad signature, stale timestamp, replayed nonce, malformed body, unknown trade,
amount mismatch) is kept on the stored row with its reason, and changes nothing else. Any other
error while processing (our side failed, not the callback) is kept on the row too, with a next
try after a back-off, so one bad row never blocks the rows behind it; after
NOTIFICATION_MAX_ATTEMPTS tries the row is DEAD (the back office shows and replays it).
"""

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind
from orders.log_context import logs_with
from payments.channels import UnknownChannel, get_channel
from payments.channels.base import (
    ChannelUnavailable,
    IgnoredEvent,
    NotificationRejected,
    RefundResult,
    RejectReason,
    TradeResult,
)
from payments.enums import NotificationOutcome, TransactionSource
from payments.models import ChannelNotification
from payments.services.refunds import (
    RefundNoticeOutcome,
    UnknownRefund,
    refund_apply_notification,
)
from payments.services.results import ApplyOutcome, UnknownTrade, payment_apply_channel_result
from payments.text import storable_text

logger = logging.getLogger(__name__)


# What processing decides about a stored callback (its headers and body are never rewritten).
VERDICT_FIELDS = [
    "signature_valid",
    "out_trade_no",
    "outcome",
    "error_code",
    "error",
    "processed_at",
]


@dataclass(frozen=True)
class Acknowledgement:
    status: int
    content_type: str
    body: str


@logs_with(channel="channel")
def notification_receive(
    *, channel: str, headers: dict[str, str], body: bytes | None, peer: str
) -> ChannelNotification:
    """Store the callback exactly as it came, committed before anything can fail. The body is
    kept byte for byte; header text PostgreSQL cannot hold (NUL, lone surrogates) is escaped.
    ``None``: the body was over DATA_UPLOAD_MAX_MEMORY_SIZE and never read; the request is
    kept, rejected as too large."""
    notification = ChannelNotification(
        channel=channel[:32],
        headers={storable_text(name): storable_text(value) for name, value in headers.items()},
        body=body or b"",
        peer=storable_text(peer[:64]),
    )
    if body is None:
        notification.outcome = NotificationOutcome.REJECTED
        notification.error_code = RejectReason.TOO_LARGE
        notification.error = f"body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, not read"
        notification.processed_at = timezone.now()
    notification.save()
    return notification


@logs_with(notification="notification_id")
def notification_process(*, notification_id: int) -> ChannelNotification:
    """Verify and apply a stored callback. Idempotent: a processed row is left as it is.
    Never raises for what processing does: a failure is recorded on the row for a later try."""
    return _process(ChannelNotification.objects.get(pk=notification_id))


@logs_with(notification="notification.pk")
def notification_process_received(*, notification: ChannelNotification) -> ChannelNotification:
    """notification_process for the row notification_receive has just returned: the request
    that stored it processes it without reading it back."""
    return _process(notification)


def _process(notification: ChannelNotification) -> ChannelNotification:
    if notification.outcome != NotificationOutcome.RECEIVED:
        return notification
    notification_id = notification.pk
    # A callback's own request needs no transaction around the whole: verifying writes nothing,
    # a rejection is one UPDATE, and what is applied commits in _verify_and_apply's own. Inside
    # a caller's transaction (the inbox job, a reprocess) this is a savepoint, so what fails
    # here is rolled back to it before the failure is recorded.
    around = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with around:
            return _verify_and_apply(notification)
    except ChannelUnavailable as error:
        # Verifying needed the channel (a platform certificate) and it did not answer: not the
        # callback's fault and not a bug, so no traceback; the row is tried again all the same.
        logger.warning(
            "callback cannot be verified now: channel=%s notification=%s error=%s",
            notification.channel,
            notification_id,
            error,
        )
        return _record_failure(notification_id, error)
    except Exception as error:  # whatever broke, the row keeps it and is tried again
        logger.exception(
            "callback processing failed: channel=%s notification=%s",
            notification.channel,
            notification_id,
        )
        return _record_failure(notification_id, error)


def _verify_and_apply(notification: ChannelNotification) -> ChannelNotification:
    try:
        adapter = get_channel(notification.channel)
    except UnknownChannel:
        return _reject(
            notification, RejectReason.UNKNOWN_CHANNEL, "no such channel", signature_valid=None
        )
    try:
        parsed = adapter.parse_notification(notification.headers, bytes(notification.body))
    except NotificationRejected as error:
        return _reject(
            notification,
            error.reason,
            error.message,
            signature_valid=error.reason.signature_checked,
        )

    notification.signature_valid = True
    notification.out_trade_no = (parsed.result.out_trade_no or "")[:64]
    tolerance = timedelta(seconds=settings.CALLBACK_TOLERANCE_SECONDS)
    # Freshness is judged at receipt: a callback reprocessed later after a crash is still good.
    received_at = notification.received_at
    if parsed.timestamp is not None and abs(received_at - parsed.timestamp) > tolerance:
        return _reject(notification, RejectReason.STALE, "timestamp outside the allowed window")

    actor = Actor(ActorKind.CHANNEL_CALLBACK, f"notification #{notification.pk}")
    try:
        with transaction.atomic():
            if parsed.nonce:
                # First in the block, so a replay rolls back nothing but this block.
                _accept_nonce(notification, parsed.nonce)
            outcome = _apply(parsed.result, actor)
            if outcome is None:
                # Signed, but not what we asked for: the discrepancy is kept (this transaction
                # commits), nothing moved, the channel's own record is asked for.
                return _reject(
                    notification, RejectReason.AMOUNT_MISMATCH, "amount or currency differ"
                )
            notification.outcome = outcome
            notification.processed_at = timezone.now()
            notification.save(update_fields=VERDICT_FIELDS)
    except _ReplayedNonce:
        return _reject(notification, RejectReason.REPLAYED, "this nonce was already used")
    except UnknownTrade:
        return _reject(notification, RejectReason.UNKNOWN_TRADE, "no payment has this out_trade_no")
    except UnknownRefund:
        return _reject(
            notification, RejectReason.UNKNOWN_REFUND, "no refund has this out_refund_no"
        )
    return notification


def _apply(
    result: TradeResult | RefundResult | IgnoredEvent, actor: Actor
) -> NotificationOutcome | None:
    """Each kind of notification through its own service."""
    if isinstance(result, RefundResult):
        return _apply_refund_result(result, actor)
    if isinstance(result, IgnoredEvent):
        return _acknowledge_ignored_event(result)
    return _apply_trade_result(result, actor)


def _apply_trade_result(result: TradeResult, actor: Actor) -> NotificationOutcome | None:
    """APPLIED / UNCHANGED, or None for an amount that is not the payment's."""
    outcome = payment_apply_channel_result(
        result=result, source=TransactionSource.CALLBACK, actor=actor
    )
    if outcome == ApplyOutcome.MISMATCH:
        return None
    return NotificationOutcome.APPLIED if outcome.changed_state else NotificationOutcome.UNCHANGED


def _apply_refund_result(result: RefundResult, actor: Actor) -> NotificationOutcome | None:
    """APPLIED / UNCHANGED, or None for an amount that is not the refund's."""
    outcome = refund_apply_notification(result=result, actor=actor)
    if outcome == RefundNoticeOutcome.MISMATCH:
        return None
    if outcome == RefundNoticeOutcome.APPLIED:
        return NotificationOutcome.APPLIED
    return NotificationOutcome.UNCHANGED


def _acknowledge_ignored_event(event: IgnoredEvent) -> NotificationOutcome:
    """A verified event we do not act on: UNCHANGED (acknowledged, so the channel stops
    sending it; the row keeps the body for anyone who wants to read it)."""
    logger.info("callback ignored: kind=%s out_trade_no=%s", event.kind, event.out_trade_no)
    return NotificationOutcome.UNCHANGED


def notifications_reprocess_stale(*, now: datetime, batch: int) -> int:
    """Inbox job: a callback stored but never processed (a crash between storing and applying)
    is verified and applied now. Each row is claimed with SKIP LOCKED, so pumps share the work
    and a request still processing its own row is never raced."""
    stale_before = now - timedelta(seconds=settings.NOTIFICATION_REPROCESS_AFTER_SECONDS)
    done = 0
    while done < batch:
        with transaction.atomic():
            notification = (
                ChannelNotification.objects.select_for_update(skip_locked=True)
                .filter(outcome=NotificationOutcome.RECEIVED, received_at__lte=stale_before)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("received_at")
                .first()
            )
            if notification is None:
                break
            notification_process(notification_id=notification.pk)
        done += 1
    return done


def notification_acknowledgement(notification: ChannelNotification) -> Acknowledgement:
    """What to answer, in the channel's own dialect: its success, or a refusal with the reason
    (400 for a rejection, 503 when our side failed and the row waits for another try). Any
    answer but success makes a channel retry, which is what both should do."""
    if notification.outcome == NotificationOutcome.REJECTED:
        status, code, message = 400, notification.error_code, notification.error
    elif notification.outcome in (NotificationOutcome.APPLIED, NotificationOutcome.UNCHANGED):
        status, code, message = 200, "", ""
    else:
        status, code, message = 503, "processing_failed", "stored; it will be processed again"
    return _answer(notification.channel, status, code, message)


def notification_unavailable_answer(channel: str) -> Acknowledgement:
    """The answer to a callback that could not even be stored (an outage): 503 in the
    channel's dialect, so the channel sends it again; nothing was acknowledged."""
    return _answer(channel, 503, "service_unavailable", "not stored; send it again")


def notification_throttled_answer(channel: str) -> Acknowledgement:
    """The answer to a callback stored, but not verified now, because its sender's address sent
    too many badly signed ones: 429 in the channel's dialect (the inbox job verifies it later)."""
    return _answer(channel, 429, "too_many_failures", "stored; verified later")


def _answer(channel: str, status: int, code: str, message: str) -> Acknowledgement:
    try:
        adapter = get_channel(channel)
    except UnknownChannel:
        error = {"code": code, "message": message}
        return Acknowledgement(status, "application/json", json.dumps({"error": error}))
    answer = adapter.acknowledgement() if status == 200 else adapter.refusal(status, code, message)
    return Acknowledgement(*answer)


class _ReplayedNonce(Exception):
    pass


def _accept_nonce(notification: ChannelNotification, nonce: str) -> None:
    """The nonce's unique constraint decides. No savepoint: the caller's block starts with
    this, and a replay leaves that block at once (rolled back), so nothing else is lost."""
    notification.accepted_nonce = nonce[:128]
    try:
        notification.save(update_fields=["accepted_nonce"])
    except IntegrityError:
        notification.accepted_nonce = None
        raise _ReplayedNonce from None


def _record_failure(notification_id: int, error: Exception) -> ChannelNotification:
    with transaction.atomic():
        notification = ChannelNotification.objects.select_for_update().get(pk=notification_id)
        notification.attempts += 1
        notification.last_error = storable_text(f"{type(error).__name__}: {error}"[:2000])
        if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            notification.outcome = NotificationOutcome.DEAD
            notification.next_attempt_at = None
            logger.error(
                "callback dead-lettered after %s tries: channel=%s notification=%s",
                notification.attempts,
                notification.channel,
                notification.pk,
            )
        else:
            notification.next_attempt_at = timezone.now() + timedelta(
                seconds=retry_delay(notification.attempts)
            )
        notification.save(update_fields=["attempts", "last_error", "outcome", "next_attempt_at"])
    return notification


def retry_delay(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones (the schedule's last repeats)."""
    schedule = settings.NOTIFICATION_RETRY_SCHEDULE
    return schedule[min(attempts, len(schedule)) - 1]


def _reject(
    notification: ChannelNotification,
    reason: RejectReason,
    message: str,
    *,
    signature_valid: bool | None = True,
) -> ChannelNotification:
    notification.signature_valid = signature_valid
    notification.outcome = NotificationOutcome.REJECTED
    notification.error_code = reason.value
    notification.error = storable_text(message[:2000])
    notification.processed_at = timezone.now()
    notification.save(update_fields=VERDICT_FIELDS)
    logger.warning(
        "callback rejected: channel=%s notification=%s out_trade_no=%s code=%s",
        notification.channel,
        notification.pk,
        notification.out_trade_no,
        reason.value,
    )
    return notification
