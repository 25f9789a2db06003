"""Active query: ask the channel how a payment stands and apply the answer (against order loss).

Used by the payment checks, the partner API's sync, read repair on pages and the admin's check now.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, Q
from django.db.models.functions import Now
from django.utils import timezone

from orders.audit import Actor
from orders.log_context import logs_with
from orders.models import Order
from payments.channels import get_channel
from payments.channels.base import ChannelError, ChannelUnavailable, TradeResult, TradeStatus
from payments.enums import OPEN_PAYMENT_STATUSES, TransactionSource
from payments.locks import first_in_window
from payments.models import Payment
from payments.selectors import order_open_attempt
from payments.services.check_log import payment_check_record
from payments.services.results import ApplyOutcome, payment_apply_channel_result
from payments.text import storable_text

logger = logging.getLogger(__name__)


@logs_with(payment="payment_id", actor="actor")
def payment_check_now(
    *, payment_id: str, actor: Actor, timeout: float | None = None
) -> ApplyOutcome:
    """Query the channel now and apply what it says. Never raises for channel trouble:
    a timeout or 5xx is UNKNOWN and changes nothing. ``timeout`` caps the channel call."""
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    return payment_query(payment=payment, actor=actor, timeout=timeout)


@logs_with(payment="payment.pk", actor="actor")
def payment_query(*, payment: Payment, actor: Actor, timeout: float | None = None) -> ApplyOutcome:
    """payment_check_now of a payment just read with its order (a payment check reads it once):
    what is used (its channel, trade reference and order's deadline) does not move meanwhile."""
    asked_at = timezone.now()
    try:
        result = get_channel(payment.channel, timeout=timeout).query_trade(payment.trade_ref)
    except (ChannelUnavailable, ChannelError) as error:
        result = unknown_answer(payment.out_trade_no, str(error))
    result = answer_about(result, out_trade_no=payment.out_trade_no)
    if result.status == TradeStatus.NOT_FOUND and not_found_is_final(payment):
        # The channel never had it and the order can no longer be paid: nothing to wait for.
        result = TradeResult(out_trade_no=payment.out_trade_no, status=TradeStatus.CLOSED)
    outcome = payment_apply_channel_result(
        result=result, source=TransactionSource.QUERY, actor=actor
    )
    payment_check_record(
        payment=payment, asked_at=asked_at, result=result, outcome=outcome, actor=actor
    )
    return outcome


def answer_about(result: TradeResult, *, out_trade_no: str) -> TradeResult:
    """A channel's answer counts only for the trade we asked about. One about another
    out_trade_no (a channel bug, a proxy mixing up answers) says nothing about ours, and
    applying it would move a payment nobody asked about: it is UNKNOWN. Queries and closes
    both pass through here."""
    if result.out_trade_no == out_trade_no:
        return result
    logger.warning(
        "channel answered about another trade: asked=%s answered=%r",
        out_trade_no,
        result.out_trade_no,
    )
    return unknown_answer(out_trade_no, f"answer about another trade: {result.out_trade_no!r}")


def unknown_answer(out_trade_no: str, error: str) -> TradeResult:
    return TradeResult(
        out_trade_no=out_trade_no,
        status=TradeStatus.UNKNOWN,
        raw={"error": storable_text(error)},
    )


@logs_with(payment="payment.pk", actor="actor")
def payment_read_repair(*, payment: Payment, actor: Actor) -> bool:
    """A reader (a status read, the return page, "I have paid") asks the channel on the spot
    while the payment is open, at most once per READ_REPAIR_INTERVAL_SECONDS per payment: one
    window shared by every page and web worker, so a hundred pages watching one order cost the
    channel what one does. The reader is waiting: the channel gets at most
    READ_REPAIR_TIMEOUT_SECONDS, then the reader is answered with what is known. True when the
    channel was asked. ``payment`` is as the reader has just read it: one that ended since then
    is asked about once more at most, and the answer applied is still forward-only. An attempt
    made less than READ_REPAIR_AFTER_SECONDS ago is not asked about (its callback is on its way)."""
    seconds = settings.READ_REPAIR_INTERVAL_SECONDS
    if not payment.is_open or _just_created(payment):
        return False
    if not first_in_window(
        f"read-repair:{payment.pk}",
        seconds,
        when_redis_down=lambda: _read_repair_claimed_in_database(payment.pk, seconds),
    ):
        return False
    payment_check_now(
        payment_id=payment.pk, actor=actor, timeout=settings.READ_REPAIR_TIMEOUT_SECONDS
    )
    return True


def _just_created(payment: Payment) -> bool:
    age = timezone.now() - payment.created_at
    return age < timedelta(seconds=settings.READ_REPAIR_AFTER_SECONDS)


def _read_repair_claimed_in_database(payment_id: str, seconds: float) -> bool:
    """The window without Redis: one conditional UPDATE of the payment's row, on the database's
    clock. Concurrent readers queue on the row and re-check the condition after the winner
    commits, so exactly one wins; an UPDATE whose condition is false locks and writes nothing."""
    window_start = ExpressionWrapper(
        Now() - timedelta(seconds=seconds), output_field=DateTimeField()
    )
    claimed = (
        Payment.objects.filter(pk=payment_id, status__in=OPEN_PAYMENT_STATUSES)
        .filter(Q(read_repair_at__isnull=True) | Q(read_repair_at__lte=window_start))
        .update(read_repair_at=Now())
    )
    return claimed == 1


def order_read_repair(*, order: Order, actor: Actor) -> bool:
    """Read repair of an order: its open attempt is asked about (as payment_read_repair).
    True when the channel was asked, so the order may have moved."""
    attempt = order_open_attempt(order)
    return attempt is not None and payment_read_repair(payment=attempt, actor=actor)


def not_found_is_final(payment: Payment) -> bool:
    """ "Trade not found" is not final before the order's deadline plus clock skew: a create
    call that timed out may still land at the channel, and a channel that creates the trade
    only when the buyer scans (Alipay's precreate) keeps its QR payable until then. Queries and
    closes both decide by this one rule."""
    skew = timedelta(seconds=settings.CHANNEL_CLOCK_SKEW_SECONDS)
    return timezone.now() > payment.order.expires_at + skew
