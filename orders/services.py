"""Merchants and orders: creation (idempotent on merchant_order_no) and closing."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from orders.audit import Actor, move, record_status_change
from orders.dedup import first_submission, submission_fingerprint
from orders.enums import OPEN_ORDER_STATUSES, ORDER_TRANSITIONS, ActorKind, OrderStatus
from orders.errors import Refusal
from orders.models import Merchant, Order
from payments.enums import OPEN_PAYMENT_STATUSES, EventType
from payments.events import event_emit, order_payload
from payments.models import Payment
from payments.services.attempts import CloseOutcome, payment_close_attempt
from payments.webhooks.signing import new_webhook_secret

logger = logging.getLogger(__name__)

EXPIRY = Actor(ActorKind.SYSTEM, "expiry")


class OrderConflict(Exception):
    """Same merchant_order_no, different content: never silently a second order."""

    code = "order_conflict"


class OrderNotClosable(Refusal):
    pass


@dataclass(frozen=True)
class NewMerchant:
    merchant: Merchant
    api_key: str  # shown once, stored only as a hash


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def merchant_create(
    *,
    name: str,
    webhook_url: str = "",
    api_key: str | None = None,
    merchant_id: str | None = None,
) -> NewMerchant:
    api_key = api_key or f"pk_{secrets.token_urlsafe(32)}"
    merchant = Merchant.objects.create(
        **({"id": merchant_id} if merchant_id else {}),
        name=name,
        api_key_hash=hash_api_key(api_key),
        webhook_url=webhook_url,
        webhook_secret=new_webhook_secret(),
    )
    return NewMerchant(merchant=merchant, api_key=api_key)


def order_create(
    *,
    merchant: Merchant,
    merchant_order_no: str,
    amount: int,
    currency: str,
    subject: str,
    actor: Actor,
    expires_in: int | None = None,
    return_url: str = "",
) -> tuple[Order, bool]:
    """Create an order, or return the existing one for a repeated identical submission.

    Returns (order, created). The UNIQUE (merchant, merchant_order_no) constraint is the final
    word: insert first and catch the conflict, never "exists() then create()".
    """
    expires_in = expires_in or settings.ORDER_DEFAULT_EXPIRES_IN
    fields = {"amount": amount, "currency": currency.upper(), "subject": subject}
    try:
        with transaction.atomic():
            order = Order.objects.create(
                merchant=merchant,
                merchant_order_no=merchant_order_no,
                return_url=return_url,
                expires_at=timezone.now() + timedelta(seconds=expires_in),
                **fields,
            )
            record_status_change(order, from_status="", actor=actor, note="order created")
    except IntegrityError:
        order = Order.objects.filter(merchant=merchant, merchant_order_no=merchant_order_no).first()
        if order is None:
            raise  # another constraint failed: not a duplicate submission
        if any(getattr(order, name) != value for name, value in fields.items()):
            raise OrderConflict(
                f"merchant_order_no {merchant_order_no!r} already used with other content"
            ) from None
        return order, False
    return order, True


def order_submit(
    *,
    merchant: Merchant,
    merchant_order_no: str,
    amount: int,
    currency: str,
    subject: str,
    actor: Actor,
    expires_in: int | None = None,
    return_url: str = "",
    submitter: str = "",
) -> tuple[Order, bool]:
    """Create an order from a submission (API or checkout form) behind the fingerprint.

    ``submitter`` narrows the fingerprint to one customer (the form's session); the checkout
    form's one-time token is its merchant_order_no, so the database still refuses a second
    order per form even when Redis is down.
    """
    content = {
        "amount": amount,
        "currency": currency.upper(),
        "subject": subject,
        "expires_in": expires_in,
        "return_url": return_url,
    }
    if submitter:
        content["submitter"] = submitter
    else:
        content["merchant_order_no"] = merchant_order_no
    return first_submission(
        submission_fingerprint(merchant.pk, content),
        lambda: order_create(
            merchant=merchant,
            merchant_order_no=merchant_order_no,
            amount=amount,
            currency=currency,
            subject=subject,
            actor=actor,
            expires_in=expires_in,
            return_url=return_url,
        ),
    )


def order_close(*, order_id: str, actor: Actor, note: str = "") -> Order:
    """Close an unpaid order: every open attempt is closed at its channel FIRST.

    A channel that says "already paid" makes the order PAID after all; an unknown close result
    leaves the order open (raise) so it can be retried.
    """
    order = Order.objects.get(pk=order_id)
    open_attempts = order.payments.filter(status__in=OPEN_PAYMENT_STATUSES, superseded=False)
    for payment_id in open_attempts.values_list("pk", flat=True):
        outcome = payment_close_attempt(payment_id=payment_id, actor=actor)
        if outcome == CloseOutcome.UNKNOWN:
            raise OrderNotClosable(
                "payment_in_progress", "a payment attempt could not be closed at its channel yet"
            )
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in OPEN_ORDER_STATUSES:
            return order
        if open_attempts.exists():
            raise OrderNotClosable("payment_in_progress", "a new payment attempt was started")
        _close_locked_order(order, actor=actor, note=note)
    return order


def orders_close_expired(*, now, batch: int) -> int:
    """Expiry (pump job): close expired orders that have no open attempt left.

    Expired orders that still have one are not touched here: the payment checks close those
    attempts at their channel first (payments.services.scheduler), and the order follows on a
    later tick. Claimed with SKIP LOCKED, so concurrent pumps share the work.
    """
    open_attempt = Payment.objects.filter(
        order=OuterRef("pk"), status__in=OPEN_PAYMENT_STATUSES, superseded=False
    )
    with transaction.atomic():
        expired = list(
            Order.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_ORDER_STATUSES, expires_at__lte=now)
            .filter(~Exists(open_attempt))
            .order_by("expires_at")[:batch]
        )
        for order in expired:
            _close_locked_order(order, actor=EXPIRY, note="expired")
    return len(expired)


def _close_locked_order(order: Order, *, actor: Actor, note: str) -> None:
    move(order, OrderStatus.CLOSED, transitions=ORDER_TRANSITIONS, actor=actor, note=note)
    order.closed_at = timezone.now()
    order.save()
    event_emit(
        merchant_id=order.merchant_id,
        type=EventType.ORDER_CLOSED,
        payload={"order": order_payload(order)},
    )
    logger.info("order closed: order=%s actor=%s note=%s", order.pk, actor.kind, note)
