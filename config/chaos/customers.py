"""Customers who do what real ones do to a payment center, one scenario each, over HTTP.

Every scenario ends with what the customer did: the order, and whether they paid at the channel
(an order nobody paid is the partner's to close once the run settles).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from config.chaos.doors import Answers, ChannelDoors, Paycenter
from config.chaos.timeline import Timeline

TRIES = 8  # a customer clicks again after a refusal or an outage, this often at most
PAUSE_SECONDS = 0.5
OPEN_PAYMENT = ("UNPAID", "PAYING")
FINAL_ORDER = ("PAID", "CLOSED", "REFUNDED")
# How long past its expiry a customer waits for the order to be closed before paying anyway
# (the expiry job runs every pump tick; a close the channel leaves unknown is tried again).
EXPIRY_WAIT_SECONDS = 60


@dataclass
class Visit:
    """What one customer did."""

    customer: int
    scenario: str
    channels: tuple[str, str]  # where the customer pays first, and where it switches to
    order_id: str | None = None
    paid: list[str] = field(default_factory=list)  # out_trade_nos the channel took money for
    orders_seen: set[str] = field(default_factory=set)  # a double submit must see one order


@dataclass(frozen=True)
class Shop:
    """What a customer needs: the deployment's doors and the run's identity."""

    web: str
    api_key: str
    channels: dict[str, ChannelDoors]  # Paycenter's channel codes, in turn, and their servers
    answers: Answers
    run: str
    timeline: Timeline
    # per channel code: the shortest expires_in an order paid there may have (the server's
    # minimum, or longer where the channel asks for a later time_expire)
    expires_in: dict[str, int] = field(default_factory=dict)
    clock_skew: timedelta = timedelta(0)  # CHANNEL_CLOCK_SKEW_SECONDS (verdict.Clock)

    def session(self) -> Paycenter:
        return Paycenter(self.web, self.api_key, self.answers)

    def doors(self, channel: str) -> ChannelDoors:
        return self.channels[channel]


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


def order_body(shop: Shop, visit: Visit, expires_in: int | None = None) -> dict:
    """The customer's order: one per customer and run, whatever is sent how often."""
    body = {
        "merchant_order_no": f"{shop.run}-{visit.customer}",
        "amount": 1000 + visit.customer,
        "currency": "CNY",
        "subject": f"chaos {visit.scenario}",
    }
    return body | ({"expires_in": expires_in} if expires_in else {})


def new_order(
    shop: Shop, visit: Visit, client: Paycenter, expires_in: int | None = None
) -> str | None:
    body = order_body(shop, visit, expires_in)
    order = retried(lambda: body_of(client.create_order(body)))
    return order["id"] if order else None


def start(shop: Shop, client: Paycenter, order_id: str, channel: str) -> str | None:
    """The out_trade_no of the order's attempt on ``channel`` (started, or the same one again);
    the buyer scans its QR code."""
    payment = retried(lambda: body_of(client.start_payment(order_id, channel)))
    if not payment:
        return None
    shop.doors(channel).scan(qr_code(payment))
    return payment["out_trade_no"]


def qr_code(payment: dict) -> str | None:
    return (payment.get("action") or {}).get("qr_content")


def pay(shop: Shop, visit: Visit, channel: str, out_trade_no: str | None) -> None:
    if out_trade_no and shop.doors(channel).pay(out_trade_no):
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
        channel = visit.channels[0]
        pay(shop, visit, channel, start(shop, client, visit.order_id, channel))


def double_click(shop: Shop, visit: Visit) -> None:
    """Orders in the demo shop and clicks Pay twice at once on the checkout page."""
    client = shop.session()
    visit.order_id = retried(client.shop_order)
    if not visit.order_id:
        return
    channel = visit.channels[0]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: client.checkout_pay(visit.order_id, channel), range(2)))
    payment = retried(lambda: payable_or_click_again(client, visit.order_id, channel))
    if payment:
        shop.doors(channel).scan(payment["qr_content"])
        pay(shop, visit, channel, payment["out_trade_no"])


def payable_or_click_again(client: Paycenter, order_id: str, channel: str) -> dict | None:
    """The open attempt once it has a QR code; until then the customer clicks Pay again, as
    the page asks when the channel did not answer (the same attempt, its create sent again)."""
    payment = open_payment(client, order_id)
    if payment and payment["qr_content"]:
        return payment
    client.checkout_pay(order_id, channel)
    return None


def open_payment(client: Paycenter, order_id: str) -> dict | None:
    """The attempt the checkout page shows (the order's open one): its out_trade_no and QR."""
    order = client.order(order_id)
    payments = order["payments"] if order else []
    return next(
        (
            {"out_trade_no": p["out_trade_no"], "qr_content": qr_code(p)}
            for p in payments
            if p["status"] in OPEN_PAYMENT
        ),
        None,
    )


def switch_channels(shop: Shop, visit: Visit, *, scan_stale_code: bool = False) -> None:
    """Starts on one channel, pays on another; with ``scan_stale_code`` the first QR code is
    paid too, after the switch closed it (the close and the payment cross)."""
    client = shop.session()
    visit.order_id = new_order(shop, visit, client)
    if not visit.order_id:
        return
    first_channel, second_channel = visit.channels
    first = start(shop, client, visit.order_id, first_channel)
    second = start(shop, client, visit.order_id, second_channel)
    pay(shop, visit, second_channel, second)
    if scan_stale_code:
        pay(shop, visit, first_channel, first)


def stale_qr(shop: Shop, visit: Visit) -> None:
    switch_channels(shop, visit, scan_stale_code=True)


def pay_after_close(shop: Shop, visit: Visit) -> None:
    """The partner closes the order while the customer still pays its code."""
    client = shop.session()
    visit.order_id = new_order(shop, visit, client)
    if not visit.order_id:
        return
    channel = visit.channels[0]
    out_trade_no = start(shop, client, visit.order_id, channel)
    retried(lambda: closed(client.close_order(visit.order_id)))
    pay(shop, visit, channel, out_trade_no)


def pay_after_expiry(shop: Shop, visit: Visit) -> None:
    """An order as short-lived as the server allows: the customer scans its code, waits until
    the order has expired by the clock and Paycenter has closed it, then pays the code anyway
    (the channel takes the money: its own time_expire crossed). That late success must be
    refunded, once."""
    client = shop.session()
    channel = visit.channels[0]
    visit.order_id = new_order(shop, visit, client, shop.expires_in.get(channel))
    if not visit.order_id:
        return
    out_trade_no = start(shop, client, visit.order_id, channel)
    order = wait_until_final(client, visit.order_id)
    status = order["status"] if order else "unreadable"
    shop.timeline.note("customer", f"customer {visit.customer} pays {visit.order_id} ({status})")
    pay(shop, visit, channel, out_trade_no)


def wait_until_final(client: Paycenter, order_id: str) -> dict | None:
    """The order once it is final (closed by expiry, or paid), or as last read when it is not
    within its expiry plus EXPIRY_WAIT_SECONDS."""
    order = client.order(order_id)
    deadline = time.monotonic() + EXPIRY_WAIT_SECONDS
    if order:
        deadline += max(0.0, _seconds_until(order["expires_at"]))
    while not (order and order["status"] in FINAL_ORDER) and time.monotonic() < deadline:
        time.sleep(PAUSE_SECONDS)
        order = client.order(order_id) or order
    return order


def _seconds_until(iso_time: str) -> float:
    return (datetime.fromisoformat(iso_time) - datetime.now(UTC)).total_seconds()


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
    "pay after expiry": pay_after_expiry,
    "pay after close": pay_after_close,
}


def visit(shop: Shop, customer: int) -> Visit:
    """One customer's scenario, on the channels in turn (and the next one to switch to); each
    round of scenarios starts one channel further, so every scenario meets every channel. A
    customer who trips over an answer it cannot read gives up (on the timeline); what they did
    so far is still judged."""
    name = list(SCENARIOS)[customer % len(SCENARIOS)]
    codes = list(shop.channels)
    home = customer + customer // len(SCENARIOS)
    channels = (codes[home % len(codes)], codes[(home + 1) % len(codes)])
    record = Visit(customer, name, channels)
    try:
        SCENARIOS[name](shop, record)
    except (ValueError, KeyError, TypeError) as error:  # an unreadable body, a missing field
        shop.timeline.note("customer", f"customer {customer} ({name}) gave up: {error!r}")
    return record
