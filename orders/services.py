"""Merchants and orders: creation (idempotent on merchant_order_no)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.audit import Actor, record_status_change
from orders.dedup import first_submission, submission_fingerprint
from orders.errors import Refusal
from orders.models import Merchant, Order
from orders.webhook_urls import webhook_url_check


class OrderConflict(Refusal):
    """Same merchant_order_no, different content: never silently a second order."""

    def __init__(self, message: str):
        super().__init__("order_conflict", message)


@dataclass(frozen=True)
class NewMerchant:
    merchant: Merchant
    api_key: str  # shown once, stored only as a hash


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def merchant_create(
    *,
    name: str,
    webhook_url: str = "",
    api_key: str | None = None,
    merchant_id: str | None = None,
) -> NewMerchant:
    if webhook_url:
        webhook_url_check(webhook_url)  # WebhookUrlRefused; checked again at every send
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
