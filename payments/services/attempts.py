"""Payment attempts: start one (or reuse the open one), and close one at its channel.

The rule: never call a channel while holding a row lock. The attempt row is
committed first (the "one open attempt per order" unique constraint is the real lock), then the
channel is called, then its answer is recorded in a new short transaction.
"""

import enum
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.audit import Actor, move, record_status_change, status_change, transition
from orders.enums import ORDER_TRANSITIONS, PAID_ORDER_STATUSES, OrderStatus
from orders.errors import Refusal
from orders.log_context import logs_with
from orders.models import Order, StatusChange
from orders.selectors import order_payable_until
from payments.channels import UnknownChannel, get_channel
from payments.channels.base import (
    Channel,
    ChannelError,
    ChannelUnavailable,
    CreateTrade,
    TradeResult,
    TradeStatus,
)
from payments.enums import (
    OPEN_PAYMENT_STATUSES,
    PAYMENT_TRANSITIONS,
    PaymentStatus,
    TransactionSource,
)
from payments.locks import lock_order, order_known_paid, order_lock
from payments.models import Payment, PaymentCheck
from payments.services.check_log import payment_check_record
from payments.services.checks import answer_about, not_found_is_final, unknown_answer
from payments.services.results import payment_apply_channel_result

logger = logging.getLogger(__name__)


class PaymentRefused(Refusal):
    """The customer or partner cannot pay this order on this channel now."""


class CloseOutcome(enum.StrEnum):
    CLOSED = "CLOSED"  # the channel confirmed nothing can be paid any more
    SUCCEEDED = "SUCCEEDED"  # it had been paid: recorded
    SUPERSEDED = "SUPERSEDED"  # the channel cannot close: replaced, still watched
    UNKNOWN = "UNKNOWN"  # no definite answer: the attempt stays open
    NOT_OPEN = "NOT_OPEN"  # already ended before we asked
    # the channel accepts no close this soon after create (WeChat Pay: 5 minutes): nothing was
    # sent, the attempt stays open; a later check closes it
    DEFERRED = "DEFERRED"


@logs_with(order="order_id", channel="channel", actor="actor")
def payment_start(*, order_id: str, channel: str, client: str, actor: Actor) -> Payment:
    """The customer (or partner) picks a channel: return the one attempt to pay with."""
    try:
        adapter = get_channel(channel)
    except UnknownChannel:
        raise PaymentRefused("unknown_channel", f"no channel named {channel!r}") from None
    if order_known_paid(order_id):
        raise PaymentRefused("order_paid", "this order is already paid")
    with order_lock(order_id):
        payment, previous = _open_attempt(order_id, adapter, client, actor)
        if previous is not None:
            _close_previous_attempt(previous, actor)
            payment, previous = _open_attempt(order_id, adapter, client, actor)
            if previous is not None:
                raise PaymentRefused("payment_in_progress", "another payment is in progress")
        if payment.pay_action is None:
            payment = _create_channel_trade(payment, adapter, actor)
    return payment


def _open_attempt(
    order_id: str, adapter: Channel, client: str, actor: Actor
) -> tuple[Payment, Payment | None]:
    """(attempt to use, open attempt on another channel that must be closed first)."""
    channel = adapter.code
    with transaction.atomic():
        order = lock_order(order_id)
        _refuse_unpayable(order)
        current = order.payments.filter(status__in=OPEN_PAYMENT_STATUSES, superseded=False).first()
        if current is not None:
            if current.channel == channel:
                return current, None
            return current, current
        channel_time_expire(order, adapter)  # refused here, before there is an attempt
        payment = Payment.objects.create(
            order=order,
            channel=channel,
            client=client,
            amount=order.amount,
            currency=order.currency,
            # checked from the start, even if the trade is never confirmed created
            next_check_at=timezone.now() + timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS),
        )
        audit = [status_change(payment, from_status="", actor=actor, note=f"attempt on {channel}")]
        if order.status == OrderStatus.UNPAID:
            audit.append(
                transition(order, OrderStatus.PAYING, transitions=ORDER_TRANSITIONS, actor=actor)
            )
            order.save(update_fields=["status", "updated_at"])
        StatusChange.objects.bulk_create(audit)
    return payment, None


def _refuse_unpayable(order: Order) -> None:
    if order.status in PAID_ORDER_STATUSES:
        raise PaymentRefused("order_paid", "this order is already paid")
    if order.status == OrderStatus.CLOSED:
        raise PaymentRefused("order_closed", "this order is closed")
    if order_payable_until(order) <= timezone.now():
        raise PaymentRefused("order_expired", "this order has expired")


def channel_time_expire(order: Order, adapter: Channel) -> datetime:
    """The time_expire to send: the order's deadline, clamped to the channel's longest; refused
    (nothing sent) when it is nearer than the channel accepts."""
    limits = adapter.capabilities
    now = timezone.now()
    time_expire = order_payable_until(order)
    if time_expire < now + timedelta(seconds=limits.expiry_min_seconds):
        raise PaymentRefused(
            "order_expiring",
            f"too little time is left to pay on {adapter.code}: it needs a deadline at least "
            f"{limits.expiry_min_seconds} s ahead",
        )
    if limits.expiry_max_seconds is None:
        return time_expire
    longest = (now + timedelta(seconds=limits.expiry_max_seconds)).replace(microsecond=0)
    return min(time_expire, longest)


def payment_close_not_before(payment: Payment, adapter: Channel) -> datetime:
    """When the channel first accepts a close of this attempt, by its clock: the trade is
    created after the attempt row, and the clocks may differ by the skew. A close it still finds
    too early is an unknown answer, tried again later."""
    wait = adapter.capabilities.close_not_before_seconds
    if wait == 0:
        return payment.created_at
    return payment.created_at + timedelta(seconds=wait + settings.CHANNEL_CLOCK_SKEW_SECONDS)


def _close_previous_attempt(previous: Payment, actor: Actor) -> None:
    outcome = payment_close_attempt(payment_id=previous.pk, actor=actor)
    if outcome == CloseOutcome.DEFERRED:
        # The customer pays another way now: the old attempt is replaced and still checked
        # (refunded if it is paid too), and closed once its channel accepts a close.
        adapter = get_channel(previous.channel)
        not_before = payment_close_not_before(previous, adapter).isoformat(timespec="seconds")
        _supersede(previous.pk, actor, f"{adapter.code} accepts no close until {not_before}")
        return
    if outcome == CloseOutcome.SUCCEEDED:
        raise PaymentRefused("order_paid", "the earlier payment went through: order is paid")
    if outcome == CloseOutcome.UNKNOWN:
        raise PaymentRefused(
            "payment_in_progress",
            "an earlier payment may still be completing; check it before paying another way",
        )


# What recording the channel's trade changes on the attempt (no other column is written again).
TRADE_CREATED_FIELDS = [
    "pay_action",
    "channel_trade_no",
    "channel_refs",
    "status",
    "next_check_at",
    "updated_at",
]


def _create_channel_trade(payment: Payment, adapter, actor: Actor) -> Payment:
    order = payment.order
    request = CreateTrade(
        out_trade_no=payment.out_trade_no,
        amount=payment.amount,
        currency=payment.currency,
        subject=order.subject,
        notify_url=settings.PUBLIC_BASE_URL + reverse("callback", args=[payment.channel]),
        time_expire=channel_time_expire(order, adapter),
        client=payment.client,
        return_url=settings.PUBLIC_BASE_URL + reverse("checkout-return", args=[order.pk]),
    )
    try:
        action = adapter.create_trade(request)
    except ChannelUnavailable as error:
        # Unknown: the trade may exist. The attempt stays open and a retry re-sends the same
        # out_trade_no, which the channel treats idempotently.
        logger.warning("create trade unknown: payment=%s error=%s", payment.pk, error)
        raise PaymentRefused(
            "channel_unavailable", "the channel did not answer; try again"
        ) from None
    except ChannelError as error:
        payment_apply_channel_result(
            result=TradeResult(out_trade_no=payment.out_trade_no, status=TradeStatus.FAILED),
            source=TransactionSource.QUERY,
            actor=actor,
        )
        raise PaymentRefused("channel_refused", f"the channel refused: {error.code}") from None
    with transaction.atomic():
        # order row first, as every service locks: the audit row's deferred FK check takes a
        # KEY SHARE lock on the order at COMMIT, which deadlocked with a concurrent read repair
        lock_order(payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not payment.is_open:
            raise PaymentRefused("payment_ended", "this attempt has ended; start again")
        payment.pay_action = action.as_dict()
        payment.channel_trade_no = action.channel_trade_no
        payment.channel_refs = dict(action.refs)
        if payment.status == PaymentStatus.UNPAID:
            move(payment, PaymentStatus.PAYING, transitions=PAYMENT_TRANSITIONS, actor=actor)
        payment.next_check_at = timezone.now() + timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS)
        payment.save(update_fields=TRADE_CREATED_FIELDS)
    return payment


@logs_with(payment="payment_id", actor="actor")
def payment_close_attempt(*, payment_id: str, actor: Actor) -> CloseOutcome:
    """Close an open attempt at its channel, then record what the channel said (and the close
    itself, on the payment's check log: an unknown close is money at risk for finance). A close
    the channel does not accept yet is not sent (DEFERRED)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment_id)
        if not payment.is_open:
            return CloseOutcome.NOT_OPEN
        adapter = get_channel(payment.channel)
        if adapter.capabilities.supports_close and timezone.now() < payment_close_not_before(
            payment, adapter
        ):
            return CloseOutcome.DEFERRED
        payment.closing_since = timezone.now()
        payment.save(update_fields=["closing_since", "updated_at"])
    if not adapter.capabilities.supports_close:
        return _supersede(payment_id, actor, "the channel cannot close")
    asked_at = timezone.now()
    try:
        result = answer_about(
            adapter.close_trade(payment.trade_ref), out_trade_no=payment.out_trade_no
        )
    except (ChannelUnavailable, ChannelError) as error:
        logger.warning("close unknown: payment=%s error=%s", payment_id, error)
        result = unknown_answer(payment.out_trade_no, str(error))
    outcome = _close_outcome(payment, result, actor)
    payment_check_record(
        payment=payment,
        asked_at=asked_at,
        result=result,
        outcome=outcome,
        actor=actor,
        call=PaymentCheck.Call.CLOSE,
    )
    return outcome


def _close_outcome(payment: Payment, result: TradeResult, actor: Actor) -> CloseOutcome:
    if result.status == TradeStatus.NOT_FOUND:
        if not not_found_is_final(payment):
            # Some channels create a trade only when the buyer scans its QR (Alipay's
            # precreate): "not found" then means "not yet", and the QR stays payable until
            # time_expire. The attempt is replaced but still checked, refunded if it succeeds.
            return _supersede(payment.pk, actor, "the channel has no such trade yet")
        # the order's deadline has passed: nothing can be paid there any more.
        result = TradeResult(out_trade_no=payment.out_trade_no, status=TradeStatus.CLOSED)
    payment_apply_channel_result(result=result, source=TransactionSource.QUERY, actor=actor)
    payment.refresh_from_db(fields=["status"])
    if payment.status == PaymentStatus.SUCCEEDED:
        return CloseOutcome.SUCCEEDED
    if not payment.is_open:
        # closed or failed: nothing more can be paid on it (a success the channel took with
        # another amount ends the attempt too, and is refunded)
        return CloseOutcome.CLOSED
    _clear_closing(payment.pk)
    return CloseOutcome.UNKNOWN


def _supersede(payment_id: str, actor: Actor, why: str) -> CloseOutcome:
    with transaction.atomic():
        lock_order(Payment.objects.values_list("order_id", flat=True).get(pk=payment_id))
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if not payment.is_open:
            return CloseOutcome.NOT_OPEN
        first_time = not payment.superseded
        payment.superseded = True
        payment.closing_since = None
        payment.save()
        if first_time:  # later closes that find it superseded still are not news
            record_status_change(
                payment,
                from_status=payment.status,
                actor=actor,
                note=f"superseded: {why}; still checked, refunded if it succeeds",
            )
    return CloseOutcome.SUPERSEDED


def _clear_closing(payment_id: str) -> None:
    Payment.objects.filter(pk=payment_id).update(closing_since=None, updated_at=timezone.now())
