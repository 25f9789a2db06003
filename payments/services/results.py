"""payment_apply_channel_result: the one door through which the system learns a channel's answer.

Callbacks, active queries, close answers and statement lines all come through here, so a success
is learned exactly once whichever path sees it first, and states only move forward.
"""

import enum
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.audit import Actor, move, transition
from orders.enums import OPEN_ORDER_STATUSES, ORDER_TRANSITIONS, PAID_ORDER_STATUSES, OrderStatus
from orders.log_context import logs_with
from orders.models import Order, StatusChange
from payments.channels.base import TradeResult, TradeStatus
from payments.enums import (
    OPEN_PAYMENT_STATUSES,
    PAYMENT_TRANSITIONS,
    EventType,
    PaymentStatus,
    RefundReason,
    TransactionSource,
)
from payments.events import event_emit, events_emit, order_payload, payment_payload
from payments.locks import cache_paid_order, lock_order_of_trade
from payments.models import ChannelTransaction, Discrepancy, Payment
from payments.queue import enqueue
from payments.services.discrepancies import discrepancy_record
from payments.services.refunds import refund_create_in_transaction

logger = logging.getLogger(__name__)


class ApplyOutcome(enum.StrEnum):
    PAID = "PAID"  # this success paid the order
    DUPLICATE_REFUNDED = "DUPLICATE_REFUNDED"  # order already paid by another attempt
    CLOSED_REFUNDED = "CLOSED_REFUNDED"  # order was closed: the money goes back
    ALREADY_APPLIED = "ALREADY_APPLIED"  # the same success again: nothing to do
    MISMATCH = "MISMATCH"  # a callback's amount/currency differ: nothing changed, query asked
    MISMATCH_REFUNDED = "MISMATCH_REFUNDED"  # the channel took another amount: all refunded
    ATTEMPT_ENDED = "ATTEMPT_ENDED"  # the channel closed or failed an open attempt
    NO_CHANGE = "NO_CHANGE"  # still paying, unknown, not found, or a late non-success

    @property
    def changed_state(self) -> bool:
        return self in {
            self.PAID,
            self.DUPLICATE_REFUNDED,
            self.CLOSED_REFUNDED,
            self.MISMATCH_REFUNDED,
            self.ATTEMPT_ENDED,
        }


# The answers that can move a payment; any other changes nothing.
MOVING_STATUSES = (TradeStatus.SUCCEEDED, TradeStatus.CLOSED, TradeStatus.FAILED)


class UnknownTrade(LookupError):
    """The channel reported an out_trade_no we never issued."""


@logs_with(out_trade_no="result.out_trade_no", actor="actor")
def payment_apply_channel_result(*, result: TradeResult, source: str, actor: Actor) -> ApplyOutcome:
    if result.status in MOVING_STATUSES:
        # No savepoint of its own inside a caller's transaction (a callback's, a statement
        # line's): what fails here fails the caller's block, which rolls back to its own
        # savepoint (every caller catches what this raises outside its atomic block, never
        # inside it).
        with transaction.atomic(savepoint=False):
            order = lock_order_of_trade(result.out_trade_no)
            if order is None:
                raise UnknownTrade(result.out_trade_no)
            # All the order's attempts (a few), so a success knows the others without a query.
            attempts = list(Payment.objects.select_for_update().filter(order=order))
            payment = next(p for p in attempts if p.out_trade_no == result.out_trade_no)
            if result.status == TradeStatus.SUCCEEDED:
                outcome = _apply_success(order, payment, attempts, result, source, actor)
            else:
                outcome = _end_attempt(order, payment, result.status, actor)
        order_id, payment_id, channel = order.id, payment.id, payment.channel
    else:
        # Still paying, unknown or not found moves nothing: no lock to wait for (the common
        # answer of a payment check).
        known = (
            Payment.objects.filter(out_trade_no=result.out_trade_no)
            .values_list("order_id", "pk", "channel")
            .first()
        )
        if known is None:
            raise UnknownTrade(result.out_trade_no)
        order_id, payment_id, channel = known
        outcome = ApplyOutcome.NO_CHANGE
    logger.info(
        "channel result applied: order=%s payment=%s out_trade_no=%s channel=%s "
        "status=%s source=%s outcome=%s",
        order_id,
        payment_id,
        result.out_trade_no,
        channel,
        result.status,
        source,
        outcome,
    )
    return outcome


# What a success changes on its payment (no other column is written again).
SUCCEEDED_FIELDS = [
    "status",
    "paid_at",
    "channel_trade_no",
    "closing_since",
    "next_check_at",
    "needs_attention",
    "updated_at",
]


def _apply_success(
    order: Order,
    payment: Payment,
    attempts: list[Payment],
    result: TradeResult,
    source: str,
    actor: Actor,
) -> ApplyOutcome:
    if (result.amount, result.currency) != (payment.amount, payment.currency):
        return _apply_mismatch(order, payment, result, source, actor)
    if payment.status == PaymentStatus.SUCCEEDED:
        return ApplyOutcome.ALREADY_APPLIED
    pays_order = order.status in OPEN_ORDER_STATUSES
    if not _record_channel_transaction(payment, result, source, paid_order=pays_order):
        return ApplyOutcome.ALREADY_APPLIED

    audit = [
        transition(payment, PaymentStatus.SUCCEEDED, transitions=PAYMENT_TRANSITIONS, actor=actor)
    ]
    payment.paid_at = result.paid_at or timezone.now()
    payment.channel_trade_no = result.channel_trade_no or payment.channel_trade_no
    payment.closing_since = None
    payment.next_check_at = None
    payment.needs_attention = False  # settled: nothing left for finance on this payment
    payment.save(update_fields=SUCCEEDED_FIELDS)
    paid_payment = payment_payload(payment)
    succeeded = (EventType.PAYMENT_SUCCEEDED, {"payment": paid_payment})

    if pays_order:
        audit.append(
            transition(order, OrderStatus.PAID, transitions=ORDER_TRANSITIONS, actor=actor)
        )
        order.paid_payment = payment
        order.paid_at = payment.paid_at
        order.save(update_fields=["status", "paid_payment", "paid_at", "updated_at"])
        StatusChange.objects.bulk_create(audit)
        paid = (
            EventType.ORDER_PAID,
            {"order": order_payload(order), "payment": paid_payment},
        )
        events_emit(merchant_id=order.merchant_id, events=[succeeded, paid])
        transaction.on_commit(lambda: cache_paid_order(order.id))
        _close_other_open_attempts(payment, attempts)
        return ApplyOutcome.PAID

    StatusChange.objects.bulk_create(audit)
    events_emit(merchant_id=order.merchant_id, events=[succeeded])

    reason, outcome = (
        (RefundReason.DUPLICATE_PAYMENT, ApplyOutcome.DUPLICATE_REFUNDED)
        if order.status in PAID_ORDER_STATUSES
        else (RefundReason.ORDER_CLOSED, ApplyOutcome.CLOSED_REFUNDED)
    )
    refund_create_in_transaction(
        payment=payment,
        amount=payment.amount,
        reason=reason,
        actor=actor,
        note=f"automatic: success on a {order.status} order",
    )
    logger.warning(
        "extra success refunded automatically: order=%s payment=%s reason=%s",
        order.id,
        payment.id,
        reason,
    )
    return outcome


def _apply_mismatch(
    order: Order, payment: Payment, result: TradeResult, source: str, actor: Actor
) -> ApplyOutcome:
    """The channel reports a success of another amount or currency than the payment asked.

    A callback alone is not believed: signed notifications can still be wrong, so nothing moves
    and the channel is queried at once. A query or statement is the channel's own record: the
    money it took is recorded, all of it goes back (AMOUNT_MISMATCH, one per payment by
    constraint), the attempt ends without paying the order, and finance gets a discrepancy.
    """
    details = {
        "expected": [payment.amount, payment.currency],
        "reported": [result.amount, result.currency],
        "source": source,
    }
    kind = (
        Discrepancy.Kind.AMOUNT_MISMATCH
        if result.amount != payment.amount
        else Discrepancy.Kind.CURRENCY_MISMATCH
    )
    valid_amount = isinstance(result.amount, int) and result.amount > 0 and result.currency
    believed = source != TransactionSource.CALLBACK and valid_amount
    if believed and not _record_channel_transaction(payment, result, source, paid_order=False):
        return ApplyOutcome.ALREADY_APPLIED
    discrepancy_record(
        channel=payment.channel,
        kind=kind,
        out_trade_no=payment.out_trade_no,
        payment=payment,
        details=details,
    )
    if not believed:
        if payment.next_check_at is None or payment.next_check_at > timezone.now():
            payment.next_check_at = timezone.now()
            payment.save(update_fields=["next_check_at", "updated_at"])
        return ApplyOutcome.MISMATCH
    if payment.is_open:
        _end_attempt(order, payment, TradeStatus.FAILED, actor)
    refund_create_in_transaction(
        payment=payment,
        amount=result.amount,
        reason=RefundReason.AMOUNT_MISMATCH,
        actor=actor,
        note=f"automatic: the channel took {result.amount} {result.currency}, "
        f"not {payment.amount} {payment.currency}",
    )
    logger.error(
        "channel took another amount, refunded automatically: order=%s payment=%s "
        "expected=%s %s taken=%s %s",
        order.id,
        payment.id,
        payment.amount,
        payment.currency,
        result.amount,
        result.currency,
    )
    return ApplyOutcome.MISMATCH_REFUNDED


def _record_channel_transaction(
    payment: Payment, result: TradeResult, source: str, *, paid_order: bool
) -> bool:
    """Insert the confirmed success; False when it was already recorded.

    Every such insert runs under its order's lock, so looking first is enough (and costs less
    than a savepoint around the insert). The unique constraint stays the guarantee: only two of
    our trades reported at the same moment with one trade number (a broken channel, two orders'
    locks) can both find nothing; the second insert then fails, and with it its caller's
    transaction, which is tried again later and finds the row."""
    channel_trade_no = result.channel_trade_no or payment.out_trade_no
    recorded = ChannelTransaction.objects.filter(
        channel=payment.channel, channel_trade_no=channel_trade_no
    )
    if recorded.exists():
        return False
    ChannelTransaction.objects.create(
        channel=payment.channel,
        channel_trade_no=channel_trade_no,
        out_trade_no=payment.out_trade_no,
        payment=payment,
        amount=result.amount,
        currency=result.currency,
        paid_at=result.paid_at,
        source=source,
        raw=dict(result.raw),
        paid_order=paid_order,
    )
    return True


def _end_attempt(order: Order, payment: Payment, status: TradeStatus, actor: Actor) -> ApplyOutcome:
    """The channel closed or failed the trade. Only an open attempt can end: never backwards."""
    if payment.status not in OPEN_PAYMENT_STATUSES:
        return ApplyOutcome.NO_CHANGE
    to_status = PaymentStatus.FAILED if status == TradeStatus.FAILED else PaymentStatus.CLOSED
    move(payment, to_status, transitions=PAYMENT_TRANSITIONS, actor=actor)
    payment.closing_since = None
    payment.needs_attention = False
    # A closed trade is still checked until its order's deadline: a buyer's payment can cross
    # the close at the channel, and its callback can be lost. A failed one is final.
    payment.next_check_at = (
        timezone.now() + timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS)
        if to_status == PaymentStatus.CLOSED
        else None
    )
    payment.save()
    if to_status == PaymentStatus.FAILED:
        event_emit(
            merchant_id=order.merchant_id,
            type=EventType.PAYMENT_FAILED,
            payload={"payment": payment_payload(payment)},
        )
    still_open = order.payments.filter(status__in=OPEN_PAYMENT_STATUSES, superseded=False)
    if order.status == OrderStatus.PAYING and not still_open.exists():
        move(order, OrderStatus.UNPAID, transitions=ORDER_TRANSITIONS, actor=actor)
        order.save()
    return ApplyOutcome.ATTEMPT_ENDED


def _close_other_open_attempts(winner: Payment, attempts: list[Payment]) -> None:
    """Another attempt still payable at its channel is a second charge waiting to happen."""
    for other in attempts:
        if other.pk != winner.pk and other.status in OPEN_PAYMENT_STATUSES:
            transaction.on_commit(
                partial(enqueue, "payments.tasks.payment_close_attempt", other.pk)
            )
