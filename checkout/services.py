"""What the customer checkout pages do, composed from the order and payment services.

The views stay thin: every answer a page gives comes from here, and every rule lives in the
services these call (payment_start, payment_check_now, order_read_repair).
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from orders.audit import CUSTOMER_CHECKOUT
from orders.enums import OPEN_ORDER_STATUSES, PAID_ORDER_STATUSES
from orders.models import Order
from orders.selectors import order_get, order_payable_until
from payments.models import Payment
from payments.selectors import order_open_attempt
from payments.services.attempts import PaymentRefused, payment_start
from payments.services.checks import order_read_repair, payment_check_now


@dataclass(frozen=True)
class CheckoutState:
    """The order as it really stands, read fresh for every render and status answer."""

    order: Order
    attempt: Payment | None
    payable_until: datetime

    @property
    def paid(self) -> bool:
        return self.order.status in PAID_ORDER_STATUSES

    @property
    def final(self) -> bool:
        """Nothing can change any more for the customer: live updates stop here."""
        return self.order.status not in OPEN_ORDER_STATUSES

    @property
    def payable(self) -> bool:
        return not self.final and timezone.now() < self.payable_until

    @property
    def seconds_left(self) -> int:
        """Until paying stops being possible (the page's countdown), rounded up: the page
        reloads at zero and must then find the order expired, not one second short of it."""
        return max(0, math.ceil((self.payable_until - timezone.now()).total_seconds()))

    @property
    def key(self) -> str:
        """Changes whenever the page would show something else: status or attempt."""
        return f"{self.order.status}:{self.attempt.pk if self.attempt else ''}"

    def as_json(self) -> dict:
        return {
            "id": self.order.pk,
            "status": self.order.status,
            "attempt": self.attempt.pk if self.attempt else None,
            "state": self.key,
            "final": self.final,
        }


def checkout_state(order_id: str, *, repair: bool) -> CheckoutState:
    """The order's real state. With ``repair``, an open attempt is first checked at its channel
    (read repair, rate-limited per payment), so a lost callback does not show a stale page."""
    order = order_get(order_id)
    if repair and order_read_repair(order=order, actor=CUSTOMER_CHECKOUT):
        order.refresh_from_db()
    attempt = order_open_attempt(order)
    return CheckoutState(order=order, attempt=attempt, payable_until=order_payable_until(order))


def checkout_payment_start(
    *, order_id: str, channel: str, client: str, seen_attempt: str | None
) -> Payment:
    """The customer pressed Pay (or "Pay another way") on a page that showed ``seen_attempt``
    ("" for none; None when the form did not say).

    A page rendered before an attempt existed (a second tab, the back button) must not close
    that attempt by picking another channel: the customer may be paying with it right now.
    Picking the same channel is harmless: payment_start returns the same attempt. The
    guarantee against two attempts stays in payment_start (order lock + unique constraint).
    """
    if seen_attempt is not None:
        current = order_open_attempt(order_get(order_id))
        if current is not None and current.pk != seen_attempt and current.channel != channel:
            raise PaymentRefused(
                "page_outdated", "a payment for this order was started in another window"
            )
    return payment_start(order_id=order_id, channel=channel, client=client, actor=CUSTOMER_CHECKOUT)


def checkout_payment_check(*, order_id: str) -> CheckoutState:
    """Ask the channel at once (no read-repair window), then read: for "I have paid — check
    now" and the return page, where a customer waits for exactly this answer."""
    attempt = order_open_attempt(order_get(order_id))
    if attempt is not None:
        payment_check_now(payment_id=attempt.pk, actor=CUSTOMER_CHECKOUT)
    return checkout_state(order_id, repair=False)
