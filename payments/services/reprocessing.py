"""Reprocessing a stored callback on request (the back office's "reprocess callback").

A RECEIVED row is processed as the inbox job would process it, and a DEAD one (every try
failed on our side) is tried once more. A REJECTED row is verified again
from its stored headers and body through notification_process: the same signature, freshness
(judged at receipt) and nonce checks, so nothing is applied that a correct first pass would not
have applied. It helps when the rejection came from our side (a wrong channel secret or
configuration since fixed, an adapter bug) and changes nothing for a forgery.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.errors import Refusal
from payments.enums import NotificationOutcome
from payments.models import ChannelNotification
from payments.services.notifications import notification_process

logger = logging.getLogger(__name__)

# Verdicts a second pass cannot change: the timestamp, the nonce and the amounts are facts of
# the stored request (and a mismatch checked again would only record its discrepancy twice).
FINAL_REJECTIONS = frozenset({"stale", "replayed", "amount_mismatch"})


class ReprocessRefused(Refusal):
    pass


def notification_reprocess(*, notification_id: int) -> ChannelNotification:
    """Process a RECEIVED callback now, or verify a REJECTED one again. The row stays locked
    throughout, so the inbox job (SKIP LOCKED) never processes it at the same time."""
    with transaction.atomic():
        notification = ChannelNotification.objects.select_for_update().get(pk=notification_id)
        if notification.outcome == NotificationOutcome.REJECTED:
            if notification.error_code in FINAL_REJECTIONS:
                raise ReprocessRefused(
                    "not_retryable", f"a callback rejected as {notification.error_code} stays so"
                )
            logger.info(
                "callback verified again: notification=%s channel=%s out_trade_no=%s was=%s",
                notification.pk,
                notification.channel,
                notification.out_trade_no,
                notification.error_code,
            )
            _reopen(notification)
        elif notification.outcome == NotificationOutcome.DEAD:
            # Every try failed on our side; its error is kept, and one more try may succeed now
            # (a bug fixed, a dependency back). Failing again leaves it DEAD.
            logger.info("dead callback replayed: notification=%s", notification.pk)
            _reopen(notification)
        elif notification.outcome != NotificationOutcome.RECEIVED:
            raise ReprocessRefused(
                "already_processed", f"this callback was already {notification.outcome}"
            )
        elif _in_flight(notification):
            raise ReprocessRefused("in_flight", "this callback is being processed right now")
        return notification_process(notification_id=notification_id)


def _in_flight(notification: ChannelNotification) -> bool:
    """A fresh RECEIVED row still has the request that stored it on it (which locks the order
    before this row when the callback has no nonce): leave it to that request, as the inbox job
    does for as long."""
    grace = timedelta(seconds=settings.NOTIFICATION_REPROCESS_AFTER_SECONDS)
    return notification.received_at > timezone.now() - grace


def _reopen(notification: ChannelNotification) -> None:
    notification.outcome = NotificationOutcome.RECEIVED
    notification.signature_valid = None
    notification.error_code = ""
    notification.error = ""
    notification.processed_at = None
    notification.next_attempt_at = None
    notification.save()
