"""Refunds: requested under the payment's row lock, executed by a job, idempotent at the channel
through out_refund_no. A refund whose outcome is unknown is retried until the channel answers."""

import enum
import logging
import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.urls import reverse
from django.utils import timezone

from orders.audit import Actor, move, record_status_change
from orders.enums import ORDER_TRANSITIONS, OrderStatus
from orders.errors import Refusal
from orders.log_context import logs_with
from payments.channels import get_channel
from payments.channels.base import (
    ChannelError,
    ChannelUnavailable,
    RefundRequest,
    RefundResult,
    RefundResultStatus,
)
from payments.enums import (
    REFUND_TRANSITIONS,
    EventType,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)
from payments.events import event_emit, order_payload, refund_payload
from payments.locks import lock_order
from payments.models import Payment, Refund
from payments.queue import enqueue

logger = logging.getLogger(__name__)

FINAL_REFUND_STATUSES = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
UNFINISHED_REFUND_STATUSES = (RefundStatus.PENDING, RefundStatus.PROCESSING)


class RefundRefused(Refusal):
    pass


class UnknownRefund(LookupError):
    """A channel reported an out_refund_no we never issued."""


class RefundNoticeOutcome(enum.StrEnum):
    APPLIED = "APPLIED"  # the refund is final now
    UNCHANGED = "UNCHANGED"  # known already, or left to the refund query
    MISMATCH = "MISMATCH"  # another amount or currency than the refund's: left to the query


@logs_with(payment="payment_id", actor="actor")
def refund_request(
    *, payment_id: str, amount: int, reason: str, actor: Actor, note: str = ""
) -> Refund:
    """A refund asked for by a merchant or finance staff (automatic ones are created by
    payment_apply_channel_result in the transaction that learns the extra success)."""
    with transaction.atomic():
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        lock_order(order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        return refund_create_in_transaction(
            payment=payment, amount=amount, reason=reason, actor=actor, note=note
        )


def refund_create_in_transaction(
    *, payment: Payment, amount: int, reason: str, actor: Actor, note: str = ""
) -> Refund:
    """Create a PENDING refund. The caller holds the order and payment row locks, which is what
    makes "never more than was paid" hold under concurrency. An AMOUNT_MISMATCH refund returns
    what the channel took from an attempt that did not pay its order (it ended FAILED)."""
    mismatch = reason == RefundReason.AMOUNT_MISMATCH
    if not (mismatch or refund_can_be_requested(payment)):
        raise RefundRefused("payment_not_succeeded", "only a succeeded payment can be refunded")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise RefundRefused("invalid_amount", "the refund amount must be a positive integer")
    taken, currency = captured(payment)
    refundable = taken - _refunded(payment)
    if amount > refundable:
        raise RefundRefused(
            "refund_exceeds_payment",
            f"{amount} would refund more than the {refundable} still refundable",
        )
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=currency,
        reason=reason,
        note=note,
        next_attempt_at=timezone.now(),
    )
    record_status_change(refund, from_status="", actor=actor, note=note or reason)
    transaction.on_commit(partial(enqueue, "payments.tasks.refund_execute", refund.id))
    return refund


def refund_can_be_requested(payment: Payment) -> bool:
    """A merchant or finance may refund only a payment that succeeded (the automatic refund of
    another amount the channel took is the one exception, made by the result service)."""
    return payment.status == PaymentStatus.SUCCEEDED


def refundable_amount(payment: Payment) -> int:
    """What is left to refund: what the channel took minus every refund that has not failed."""
    return captured(payment)[0] - _refunded(payment)


def _refunded(payment: Payment) -> int:
    refunded = payment.refunds.exclude(status=RefundStatus.FAILED).aggregate(total=Sum("amount"))
    return refunded["total"] or 0


def captured(payment: Payment) -> tuple[int, str]:
    """(amount, currency) the channel confirmed it took for this payment: its recorded success,
    which differs from what was asked only when the channel took another (AMOUNT_MISMATCH)."""
    taken = payment.transactions.values_list("amount", "currency").first()
    return taken or (payment.amount, payment.currency)


def refunds_execute_due(
    *, now: datetime, batch: int, actor: Actor, channel: str | None = None
) -> int:
    """Janitor (pump job, one lane per channel): refunds not final whose next attempt is due and
    whose lease is free, claimed with SKIP LOCKED so pumps share them; refund_execute takes each
    one's lease before it calls the channel."""
    due = Refund.objects.filter(status__in=UNFINISHED_REFUND_STATUSES, next_attempt_at__lte=now)
    if channel is not None:
        due = due.filter(payment__channel=channel)
    with transaction.atomic():
        due = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:batch]
        )
    for refund_id in due:
        refund_execute(refund_id=refund_id, actor=actor)
    return len(due)


@logs_with(refund="refund_id", actor="actor")
def refund_execute(*, refund_id: str, actor: Actor) -> Refund:
    """Bring a refund one step closer to final at its channel, if no one else is doing so.

    The after-commit task, the janitor and an admin may all call this at once: only the one
    that takes the lease talks to the channel. A refund that may already exist there (any
    earlier attempt) is queried before anything is sent again, and a refusal counts as FAILED
    only once a refund query confirms the channel holds nothing under this out_refund_no.
    """
    refund, lease = _take_lease(refund_id, actor)
    if lease is None:
        return refund
    adapter = get_channel(refund.payment.channel)
    sent_before = refund.attempts > 1  # this execution's attempt is already counted
    result = _ask_refund(adapter, refund) if sent_before else None
    if result is None or result.status == RefundResultStatus.NOT_FOUND:
        result = _send_refund(adapter, refund)
    return refund_apply_result(refund_id=refund_id, result=result, actor=actor, lease=lease)


def _take_lease(refund_id: str, actor: Actor) -> tuple[Refund, str | None]:
    now = timezone.now()
    with transaction.atomic():
        # The order row first, as every service does: the audit row written here checks its
        # (deferred) foreign key to the order at commit, which must not wait behind a service
        # that holds the order and waits for this refund.
        lock_order(_order_id_of(refund_id))
        refund = _lock_refund(refund_id)
        if refund.status in FINAL_REFUND_STATUSES:
            return refund, None
        if refund.lease_until is not None and refund.lease_until > now:
            return refund, None  # another caller is talking to the channel about it
        free_at = _refund_calls_free_at(refund, now)
        if free_at > now:
            # the channel asks for a pause between refund calls on one trade: later, not failed
            refund.next_attempt_at = free_at
            refund.save(update_fields=["next_attempt_at", "updated_at"])
            logger.info("refund deferred: refund=%s until=%s", refund.id, free_at.isoformat())
            return refund, None
        if refund.status == RefundStatus.PENDING:
            move(refund, RefundStatus.PROCESSING, transitions=REFUND_TRANSITIONS, actor=actor)
        refund.attempts += 1
        refund.lease_owner = uuid.uuid4().hex
        refund.lease_until = now + timedelta(seconds=settings.REFUND_LEASE_SECONDS)
        refund.save()
    return refund, refund.lease_owner


def _refund_calls_free_at(refund: Refund, now: datetime) -> datetime:
    """When a call about a refund of this trade may go to the channel: at once, or the channel's
    spacing after the trade's last refund call ended (or from now, while another refund of the
    trade holds a lease: its call is in flight). The caller holds the order row, under which
    every refund of the trade takes its lease, so no other call starts meanwhile."""
    spacing = get_channel(refund.payment.channel).capabilities.refund_call_spacing_seconds
    if not spacing:
        return now
    pause = timedelta(seconds=spacing)
    of_trade = Refund.objects.filter(payment_id=refund.payment_id)
    if of_trade.exclude(pk=refund.pk).filter(lease_until__gt=now).exists():
        return now + pause
    last = of_trade.aggregate(last=Max("channel_called_at"))["last"]
    return last + pause if last else now


def _send_refund(adapter, refund: Refund) -> RefundResult:
    payment = refund.payment
    try:
        answer = adapter.refund(
            RefundRequest(
                trade=payment.trade_ref,
                out_refund_no=refund.out_refund_no,
                amount=refund.amount,
                total_amount=captured(payment)[0],
                currency=refund.currency,
                notify_url=settings.PUBLIC_BASE_URL + reverse("callback", args=[payment.channel]),
            )
        )
    except ChannelUnavailable as error:
        return _unknown(refund.out_refund_no, error)
    except ChannelError as error:
        # Perhaps a definite "no", perhaps the loser of a race with our own earlier call: only
        # the channel's record of this out_refund_no can tell.
        confirmed = _ask_refund(adapter, refund)
        if confirmed.status == RefundResultStatus.NOT_FOUND:
            return RefundResult(
                out_refund_no=refund.out_refund_no,
                status=RefundResultStatus.FAILED,
                raw={"error": str(error), "code": error.code},
            )
        return confirmed
    return _answer_about(answer, refund)


def _ask_refund(adapter, refund: Refund) -> RefundResult:
    try:
        return _answer_about(adapter.query_refund(refund.refund_ref), refund)
    except (ChannelUnavailable, ChannelError) as error:
        return _unknown(refund.out_refund_no, error)


def _answer_about(result: RefundResult, refund: Refund) -> RefundResult:
    """An answer counts only for the refund we asked about: one about another out_refund_no
    (a channel bug, a proxy mixing up answers) says nothing of ours, whatever its status."""
    if result.out_refund_no == refund.out_refund_no:
        return result
    logger.warning(
        "channel answered about another refund: asked=%s answered=%r",
        refund.out_refund_no,
        result.out_refund_no,
    )
    return _unknown(
        refund.out_refund_no, ValueError(f"answer about another refund: {result.out_refund_no!r}")
    )


def _unknown(out_refund_no: str, error: Exception) -> RefundResult:
    return RefundResult(
        out_refund_no=out_refund_no, status=RefundResultStatus.UNKNOWN, raw={"error": str(error)}
    )


@logs_with(refund="refund_id", actor="actor")
def refund_apply_result(
    *, refund_id: str, result: RefundResult, actor: Actor, lease: str | None = None
) -> Refund:
    """Record what the channel said of a refund (an execution's answer, or a notification).
    The caller's lease, if it holds one, ends here."""
    with transaction.atomic():
        order = lock_order(_order_id_of(refund_id))
        refund = _lock_refund(refund_id)
        if lease is not None and refund.lease_owner == lease:
            refund.lease_owner, refund.lease_until = "", None
            refund.channel_called_at = timezone.now()
        if result.refs:  # handed back on every later call about this refund
            refund.channel_refs = {**refund.channel_refs, **result.refs}
        if refund.status in FINAL_REFUND_STATUSES:
            refund.save()
            return refund
        if result.status == RefundResultStatus.SUCCEEDED:
            _succeed(order, refund, result, actor)
        elif result.status == RefundResultStatus.FAILED:
            _fail(order, refund, result, actor)
        else:
            # PROCESSING or UNKNOWN: asked again after a pause, measured from now (the call
            # may have taken long), and flagged for finance once it has taken too many tries.
            refund.last_error = str(result.raw.get("error", ""))[:2000]
            refund.next_attempt_at = timezone.now() + _retry_delay(refund.attempts)
            if refund.attempts >= settings.REFUND_ATTENTION_AFTER_ATTEMPTS:
                refund.needs_attention = True
            refund.save()
    return refund


def refund_apply_notification(*, result: RefundResult, actor: Actor) -> RefundNoticeOutcome:
    """A channel's notification about one of our refunds.

    A success that agrees with the refund (its amount, or a trade's refunded total that is what
    we know was refunded plus this refund) is applied at once. Anything else (a failure, another
    amount, a total we cannot account for yet) only makes the refund due now: the janitor's
    refund query, the channel's own record, decides — a signed notification can still be wrong.
    """
    refund = Refund.objects.filter(out_refund_no=result.out_refund_no).first()
    if refund is None:
        raise UnknownRefund(result.out_refund_no)
    with transaction.atomic():
        lock_order(_order_id_of(refund.pk))  # no refund of the payment settles meanwhile
        refund = _lock_refund(refund.pk)
        agreement = _agreement(refund, result)
        if result.status == RefundResultStatus.SUCCEEDED and agreement == _Agreement.AGREES:
            before = refund.status
            after = refund_apply_result(refund_id=refund.pk, result=result, actor=actor).status
            return RefundNoticeOutcome.APPLIED if after != before else RefundNoticeOutcome.UNCHANGED
        if refund.status in UNFINISHED_REFUND_STATUSES:
            refund.next_attempt_at = timezone.now()
            refund.save(update_fields=["next_attempt_at", "updated_at"])
    if agreement == _Agreement.CONTRADICTS:
        return RefundNoticeOutcome.MISMATCH
    return RefundNoticeOutcome.UNCHANGED


class _Agreement(enum.Enum):
    AGREES = "agrees"
    UNDECIDED = "undecided"  # a total that may hold refunds we have not learned of yet
    CONTRADICTS = "contradicts"


def _agreement(refund: Refund, result: RefundResult) -> _Agreement:
    """Whether a notification is about this refund: its trade (where it names one) this
    refund's payment, its currency the refund's, and its amount this refund's amount or a
    trade's refunded total that holds it."""
    about_another_trade = result.out_trade_no not in (None, refund.payment.out_trade_no)
    if about_another_trade or (result.currency or refund.currency) != refund.currency:
        return _Agreement.CONTRADICTS
    if result.amount is not None or result.trade_refunded_total is None:
        return _Agreement.AGREES if result.amount == refund.amount else _Agreement.CONTRADICTS
    return _total_agreement(refund, result.trade_refunded_total)


def _total_agreement(refund: Refund, trade_refunded_total: int) -> _Agreement:
    """A trade's refunded total against the payment's refunds that have SUCCEEDED (the caller
    holds the order lock, so none settles meanwhile): exactly those plus this one agrees; more
    may count a refund still in flight (undecided); less cannot hold this refund at all."""
    others = (
        refund.payment.refunds.filter(status=RefundStatus.SUCCEEDED)
        .exclude(pk=refund.pk)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    expected = others + refund.amount
    if trade_refunded_total == expected:
        return _Agreement.AGREES
    if trade_refunded_total > expected:
        return _Agreement.UNDECIDED
    return _Agreement.CONTRADICTS


def _succeed(order, refund: Refund, result: RefundResult, actor: Actor) -> None:
    move(refund, RefundStatus.SUCCEEDED, transitions=REFUND_TRANSITIONS, actor=actor)
    refund.channel_refund_no = result.channel_refund_no or ""
    refund.finished_at = timezone.now()
    refund.next_attempt_at = None
    refund.needs_attention = False
    refund.save()
    logger.info(
        "refund succeeded: refund=%s order=%s amount=%s", refund.id, order.id, refund.amount
    )
    event_emit(
        merchant_id=order.merchant_id,
        type=EventType.REFUND_SUCCEEDED,
        payload={"refund": refund_payload(refund), "order": order.id},
    )
    if order.paid_payment_id == refund.payment_id:
        _count_refund_on_order(order, refund, actor)


def _fail(order, refund: Refund, result: RefundResult, actor: Actor) -> None:
    move(refund, RefundStatus.FAILED, transitions=REFUND_TRANSITIONS, actor=actor)
    refund.last_error = str(result.raw.get("error", ""))[:2000]
    refund.finished_at = timezone.now()
    refund.next_attempt_at = None
    refund.needs_attention = True  # money that should go back did not: finance decides
    refund.save()
    event_emit(
        merchant_id=order.merchant_id,
        type=EventType.REFUND_FAILED,
        payload={"refund": refund_payload(refund), "order": order.id},
    )
    logger.error("refund failed: refund=%s order=%s", refund.id, order.id)


def _order_id_of(refund_id: str) -> str:
    return Refund.objects.values_list("payment__order_id", flat=True).get(pk=refund_id)


def _lock_refund(refund_id: str) -> Refund:
    return (
        Refund.objects.select_for_update(of=("self",)).select_related("payment").get(pk=refund_id)
    )


def _count_refund_on_order(order, refund: Refund, actor: Actor) -> None:
    order.refunded_amount += refund.amount
    if order.refunded_amount == order.amount and order.status == OrderStatus.PAID:
        move(order, OrderStatus.REFUNDED, transitions=ORDER_TRANSITIONS, actor=actor)
        event_emit(
            merchant_id=order.merchant_id,
            type=EventType.ORDER_REFUNDED,
            payload={"order": order_payload(order)},
        )
    order.save()


def _retry_delay(attempts: int) -> timedelta:
    schedule = settings.REFUND_RETRY_SCHEDULE
    return timedelta(seconds=schedule[min(attempts, len(schedule)) - 1])
