"""Customers who do what real ones do to a payment center, one scenario each, over HTTP.

Every scenario ends with what the customer did: the order, and whether they paid at the channel
(an order nobody paid is the partner's to close once the run settles).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from config.chaos.doors import Answers, Paycenter, Sandbox
from config.chaos.timeline import Timeline

TRIES = 8  # a customer clicks again after a refusal or an outage, this often at most
PAUSE_SECONDS = 0.5
CHANNELS = ("sandbox", "sandbox_card")
OPEN_PAYMENT = ("UNPAID", "PAYING")


@dataclass
class Visit:
    """What one customer did."""

    customer: int
    scenario: str
    order_id: str | None = None
    paid: list[str] = field(default_factory=list)  # out_trade_nos the channel took money for
    orders_seen: set[str] = field(default_factory=set)  # a double submit must see one order


@dataclass(frozen=True)
class Shop:
    """What a customer needs: the deployment's doors and the run's identity."""

    web: str
    api_key: str
    sandbox: Sandbox
    answers: Answers
    run: str
    timeline: Timeline

    def session(self) -> Paycenter:
        return Paycenter(self.web, self.api_key, self.answers)


def retried(action: Callable[[], object]) -> object:
    """The action's truthy result, clicking again a few times; None if it never succeeded."""
    for _ in range(TRIES):
        result = action()
        if result:
            return result
        time.sleep(PAUSE_SECONDS)
    return None


def body_of(response) -> dict | None:
    return response.json() if response is not None and response.status_code in (200, 201) else None


def order_body(shop: Shop, visit: Visit) -> dict:
    """The customer's order: one per customer and run, whatever is sent how often."""
    return {
        "merchant_order_no": f"{shop.run}-{visit.customer}",
        "amount": 1000 + visit.customer,
        "currency": "CNY",
        "subject": f"chaos {visit.scenario}",
    }


def new_order(shop: Shop, visit: Visit, client: Paycenter) -> str | None:
    body = order_body(shop, visit)
    order = retried(lambda: body_of(client.create_order(body)))
    return order["id"] if order else None


def start(client: Paycenter, order_id: str, channel: str) -> str | None:
    """The out_trade_no of the order's attempt on ``channel`` (started, or the same one again)."""
    payment = retried(lambda: body_of(client.start_payment(order_id, channel)))
    return payment["out_trade_no"] if payment else None


def pay(shop: Shop, visit: Visit, out_trade_no: str | None) -> None:
    if out_trade_no and shop.sandbox.pay(out_trade_no):
        visit.paid.append(out_trade_no)


def double_submit(shop: Shop, visit: Visit) -> None:
    """Submits the same order three times at once (one a retry with the same key)."""
    body = order_body(shop, visit)
    key = f"{shop.run}-{visit.customer}-key"
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(lambda k: body_of(shop.session().create_order(body, k)), (key, key, None))
        )
    visit.orders_seen = {answer["id"] for answer in answers if answer}
    client = shop.session()
    visit.order_id = next(iter(visit.orders_seen), None) or new_order(shop, visit, client)
    if visit.order_id:
        pay(shop, visit, start(client, visit.order_id, "sandbox"))


def double_click(shop: Shop, visit: Visit) -> None:
    """Orders in the demo shop and clicks Pay twice at once on the checkout page."""
    client = shop.session()
    visit.order_id = retried(client.shop_order)
    if not visit.order_id:
        return
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: client.checkout_pay(visit.order_id, "sandbox"), range(2)))
    pay(shop, visit, retried(lambda: open_trade(client, visit.order_id)))


def open_trade(client: Paycenter, order_id: str) -> str | None:
    """The out_trade_no of the attempt the checkout page shows (the order's open one)."""
    order = client.order(order_id)
    payments = order["payments"] if order else []
    return next((p["out_trade_no"] for p in payments if p["status"] in OPEN_PAYMENT), None)


def switch_channels(shop: Shop, visit: Visit, *, scan_stale_code: bool = False) -> None:
    """Starts on one channel, pays on another; with ``scan_stale_code`` the first QR code is
    scanned and paid too, after the switch closed it (the close and the payment cross)."""
    client = shop.session()
    visit.order_id = new_order(shop, visit, client)
    if not visit.order_id:
        return
    first = start(client, visit.order_id, CHANNELS[0])
    second = start(client, visit.order_id, CHANNELS[1])
    pay(shop, visit, second)
    if scan_stale_code:
        pay(shop, visit, first)


def stale_qr(shop: Shop, visit: Visit) -> None:
    switch_channels(shop, visit, scan_stale_code=True)


def pay_after_close(shop: Shop, visit: Visit) -> None:
    """The order is closed (expired for the partner) while the customer still pays its code."""
    client = shop.session()
    visit.order_id = new_order(shop, visit, client)
    if not visit.order_id:
        return
    out_trade_no = start(client, visit.order_id, "sandbox")
    retried(lambda: closed(client.close_order(visit.order_id)))
    pay(shop, visit, out_trade_no)


def closed(response) -> bool:
    """The order is closed, or can no longer be (it was paid meanwhile)."""
    return (
        response is not None
        and response.status_code in (200, 409)
        and (response.status_code == 200 or response.json()["error"]["code"] == "order_paid")
    )


SCENARIOS: dict[str, Callable[[Shop, Visit], None]] = {
    "double submit": double_submit,
    "double click": double_click,
    "switch channels": switch_channels,
    "stale QR code": stale_qr,
    "pay after close": pay_after_close,
}


def visit(shop: Shop, customer: int) -> Visit:
    """One customer's scenario. A customer who trips over an answer it cannot read gives up (on
    the timeline); what they did so far is still judged."""
    name = list(SCENARIOS)[customer % len(SCENARIOS)]
    record = Visit(customer, name)
    try:
        SCENARIOS[name](shop, record)
    except (ValueError, KeyError, TypeError) as error:  # an unreadable body, a missing field
        shop.timeline.note("customer", f"customer {customer} ({name}) gave up: {error!r}")
    return record
