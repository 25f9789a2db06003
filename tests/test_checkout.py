"""The checkout pages, through Django's test clients against the real sandbox process.

Browser behaviour (live updates, back button, double clicks, tabs) is in tests/browser/.
"""

import json
import re
import secrets
import time
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.test import AsyncClient

from orders.enums import OrderStatus
from orders.models import Merchant, Order
from orders.selectors import order_payable_until
from payments.enums import PaymentStatus
from payments.models import Payment
from tests.factories import make_order

pytestmark = pytest.mark.django_db

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
QR = re.compile(r"<svg.*?</svg>", re.S)


@pytest.fixture
def demo_merchant(db):
    call_command("seed_demo", verbosity=0)


def create_order(client) -> Order:
    response = client.post("/shop/order/", {"product": "mug", "token": secrets.token_hex(16)})
    assert response.status_code == 302
    order = Order.objects.latest("created_at")
    assert response["Location"] == f"/checkout/{order.pk}/"
    return order


def pay(customer, order, channel="sandbox", **fields):
    return customer.post(f"/checkout/{order.pk}/pay/", {"channel": channel, **fields})


def page(client, order, path="") -> str:
    return client.get(f"/checkout/{order.pk}/{path}").content.decode()


def test_the_shop_lists_products_with_formatted_prices(client, demo_merchant):
    page = client.get("/").content.decode()
    assert "Ceramic mug" in page and "CNY 25.00" in page


def test_a_bad_product_is_a_clear_400(client, demo_merchant):
    token = secrets.token_hex(16)
    assert client.post("/shop/order/", {"product": "yacht", "token": token}).status_code == 400
    assert client.post("/shop/order/", {"product": "mug", "token": "forged"}).status_code == 400
    assert not Order.objects.exists()


def test_the_order_page_shows_amount_items_and_time_left_and_offers_channels(
    client, demo_merchant, sandbox
):
    order = create_order(client)

    html = page(client, order)

    assert "CNY 25.00" in html and "Ceramic mug" in html
    assert re.search(r'id="countdown"[^>]*data-seconds-left="1[78]\d\d"', html)  # ~30 min
    assert 'name="channel"' in html and 'name="csrfmiddlewaretoken"' in html
    assert 'id="pay-button"' in html


def test_the_first_render_after_pay_shows_the_code_and_every_later_render_asks_first(
    client, demo_merchant, sandbox
):
    order = create_order(client)

    first = client.get(pay(client, order)["Location"]).content.decode()
    again = client.get(pay(client, order)["Location"]).content.decode()  # a double click
    reloaded = page(client, order)  # reload, back button or another tab

    payment = Payment.objects.get()
    wallet = f"{sandbox.url}/wallet/{payment.channel_trade_no}"
    assert wallet in first and QR.search(first)
    assert "Have you already completed the payment?" not in first
    assert QR.search(again).group() == QR.search(first).group()
    assert "Have you already completed the payment?" in reloaded
    assert "I have paid — check now" in reloaded and "Pay another way" in reloaded
    assert QR.search(reloaded).group() == QR.search(first).group()  # the same code, not a new one
    # "Pay another way" offers only the other channels
    assert 'value="sandbox_card"' in reloaded and 'name="channel" value="sandbox"' not in reloaded


def test_checkout_pages_and_status_are_never_stored(client, demo_merchant, sandbox):
    order = create_order(client)
    pay(client, order)

    for path in ("", "status/", "return/"):
        response = client.get(f"/checkout/{order.pk}/{path}")
        assert "no-store" in response["Cache-Control"], path


def test_the_status_endpoint_asks_the_channel_when_the_callback_is_lost(
    client, demo_merchant, sandbox, redis_server
):
    order = create_order(client)
    pay(client, order)
    payment = Payment.objects.get()
    sandbox.pay(payment.out_trade_no)  # its callback goes nowhere in this test

    status = client.get(f"/checkout/{order.pk}/status/").json()

    assert status == {
        "id": order.pk,
        "status": OrderStatus.PAID,
        "attempt": None,
        "state": "PAID:",
        "final": True,
    }
    assert "Payment received" in page(client, order)


def test_read_repair_is_rate_limited_per_payment(client, demo_merchant, sandbox, settings):
    settings.READ_REPAIR_INTERVAL_SECONDS = 0.3
    order = create_order(client)
    pay(client, order)
    status_url = f"/checkout/{order.pk}/status/"
    assert client.get(status_url).json()["status"] == "PAYING"  # asked the channel: unpaid
    sandbox.pay(Payment.objects.get().out_trade_no)

    assert client.get(status_url).json()["status"] == "PAYING"  # within the window: not asked
    time.sleep(0.35)
    assert client.get(status_url).json()["status"] == "PAID"


def test_a_page_from_before_the_attempt_cannot_close_it_by_picking_another_channel(
    client, demo_merchant, sandbox
):
    order = create_order(client)
    pay(client, order, seen_attempt="")  # tab 1
    payment = Payment.objects.get()

    response = pay(client, order, "sandbox_card", seen_attempt="")  # tab 2, rendered earlier
    html = page(client, order)

    assert response.status_code == 302
    assert "A payment for this order was already started" in html
    assert "Have you already completed the payment?" in html
    assert Payment.objects.get().status == PaymentStatus.PAYING  # untouched, and alone
    assert sandbox.trade(payment.out_trade_no)["status"] == "WAITING"
    pay(client, order, "sandbox", seen_attempt="")  # the same channel is the same attempt
    assert Payment.objects.count() == 1


def test_pay_another_way_closes_the_old_trade_at_the_channel_first(client, demo_merchant, sandbox):
    order = create_order(client)
    pay(client, order)
    old = Payment.objects.get()

    pay(client, order, "sandbox_card", seen_attempt=old.pk)
    html = page(client, order)

    new = Payment.objects.get(status=PaymentStatus.PAYING)
    assert new.channel == "sandbox_card" and new.pk != old.pk
    assert sandbox.trade(old.out_trade_no)["status"] == "CLOSED"
    assert f"/wallet/{new.channel_trade_no}" in html


def test_pay_another_way_is_refused_clearly_while_the_old_close_is_unknown(
    client, demo_merchant, sandbox
):
    order = create_order(client)
    pay(client, order)
    old = Payment.objects.get()
    sandbox.set_faults({"close_unknown_rate": 1})

    pay(client, order, "sandbox_card", seen_attempt=old.pk)
    html = page(client, order)

    assert "Your earlier payment may still be going through" in html
    assert "I have paid — check now" in html
    assert list(Payment.objects.values_list("pk", "status")) == [(old.pk, PaymentStatus.PAYING)]


def test_the_deadline_is_shown_in_the_shops_time_zone_not_utc(client, demo_merchant, settings):
    order = create_order(client)
    payable_until = order_payable_until(order)

    html = page(client, order)

    shanghai = payable_until.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"(until {shanghai:%H:%M} UTC+0800)" in html
    assert " UTC)" not in html


def test_an_earlier_payment_that_went_through_is_good_news_not_an_error(
    client, demo_merchant, sandbox
):
    order = create_order(client)
    pay(client, order)
    old = Payment.objects.get()
    sandbox.pay(old.out_trade_no)  # the buyer paid; its callback goes nowhere

    pay(client, order, "sandbox_card", seen_attempt=old.pk)  # "pay another way" finds it paid
    html = page(client, order)

    assert 'class="message message-success" role="status">Your earlier payment went through' in html
    assert "message-error" not in html
    assert Order.objects.get().status == OrderStatus.PAID


def test_i_have_paid_asks_the_channel_now(client, demo_merchant, sandbox, settings):
    settings.READ_REPAIR_INTERVAL_SECONDS = 3600  # passive read repair would not ask again
    order = create_order(client)
    pay(client, order)
    page(client, order)  # a render that used up the read-repair window

    client.post(f"/checkout/{order.pk}/check/")
    not_yet = page(client, order)
    sandbox.pay(Payment.objects.get().out_trade_no)  # its callback goes nowhere
    response = client.post(f"/checkout/{order.pk}/check/", follow=True)

    assert "The payment has not reached us yet" in not_yet
    assert "Payment received" in response.content.decode()
    assert Order.objects.get().status == OrderStatus.PAID


def test_a_paid_order_shows_the_result_page_and_no_way_to_pay(client, demo_merchant, sandbox):
    order = create_order(client)
    pay(client, order)
    sandbox.pay(Payment.objects.get().out_trade_no)
    page(client, order, "status/")

    html = page(client, order)
    pay(client, order, "sandbox_card")  # a stale form

    assert "Payment received" in html and "<svg" not in html and 'name="channel"' not in html
    assert Payment.objects.count() == 1
    assert "this order is paid" in page(client, order)


def test_an_expired_order_cannot_be_paid(client, demo_merchant, sandbox, settings):
    settings.TIME_EXPIRE_MARGIN_SECONDS = 60
    order = make_order(Merchant.objects.get(pk=settings.DEMO_MERCHANT_ID), expires_in=30)

    html = page(client, order)
    pay(client, order)  # a hand-made post

    assert "This order has expired" in html and "still confirming" not in html
    assert 'name="channel"' not in html and "countdown" not in html
    assert not Payment.objects.exists()
    assert "This order has expired" in page(client, order)


def test_an_order_that_expired_during_its_payment_shows_no_code_and_keeps_watching(
    client, demo_merchant, sandbox, settings
):
    order = create_order(client)
    pay(client, order)
    settings.TIME_EXPIRE_MARGIN_SECONDS = 3600  # the channels' deadline is now behind us

    html = page(client, order)

    assert "This order has expired" in html and "still confirming that payment" in html
    assert "<svg" not in html and 'name="channel"' not in html
    assert 'id="live-status"' in html  # a payment that lands now still turns the page


def test_paying_without_choosing_a_channel_is_explained(client, demo_merchant, sandbox):
    order = create_order(client)
    response = client.post(f"/checkout/{order.pk}/pay/", {}, follow=True)
    assert "Choose how to pay." in response.content.decode()
    assert not Payment.objects.exists()


def test_a_refused_payment_is_explained_on_the_page(client, demo_merchant, sandbox):
    order = create_order(client)
    sandbox.set_faults({"api_error_rate": {"create": 1}})

    response = client.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox"}, follow=True)

    html = response.content.decode()
    assert "The payment channel did not answer. Please try again." in html
    assert "Try sandbox again" in html  # the open attempt, retried with the same out_trade_no


def test_a_phone_is_offered_to_pay_on_the_device_and_sent_to_the_channel(
    client, demo_merchant, sandbox
):
    order = create_order(client)
    desktop = page(client, order)
    phone = client.get(f"/checkout/{order.pk}/", headers={"User-Agent": IPHONE}).content.decode()

    response = pay(client, order, client="mobile", seen_attempt="")

    assert re.search(r'value="pc"[^>]*checked', desktop)
    assert re.search(r'value="mobile"[^>]*checked', phone)
    payment = Payment.objects.get()
    assert (payment.client, payment.pay_action["type"]) == ("mobile", "redirect")
    assert response.status_code == 302
    assert response["Location"] == f"{sandbox.url}/wallet/{payment.channel_trade_no}"


def test_the_return_page_asks_the_channel_before_answering(client, demo_merchant, sandbox):
    order = create_order(client)
    pay(client, order, client="mobile")
    unpaid = page(client, order, "return/")
    sandbox.pay(Payment.objects.get().out_trade_no)  # its callback goes nowhere

    paid = page(client, order, "return/")

    assert "Confirming your payment…" in unpaid
    assert "Payment received" in paid


def test_unknown_order_is_404(client, demo_merchant):
    assert client.get("/checkout/ord_nope/").status_code == 404
    assert client.get("/checkout/ord_nope/status/").status_code == 404


def test_server_push_is_offered_only_under_asgi(client, demo_merchant, sandbox):
    order = create_order(client)
    assert client.get(f"/checkout/{order.pk}/events/").status_code == 204
    assert 'data-events-url=""' in page(client, order)
    asgi_page = async_to_sync(AsyncClient().get)(f"/checkout/{order.pk}/")
    assert f'data-events-url="/checkout/{order.pk}/events/"' in asgi_page.content.decode()


def read_events(order_id: str, on_first=None) -> tuple[list[dict], str]:
    """Read an SSE stream to its end under ASGI: (status events, raw text)."""

    async def scenario():
        response = await AsyncClient().get(f"/checkout/{order_id}/events/")
        assert response["Content-Type"] == "text/event-stream"
        assert "no-store" in response["Cache-Control"]
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk.decode())
            if on_first and len(chunks) == 2:
                await on_first()
        return chunks

    raw = "".join(async_to_sync(scenario)())
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    return events, raw


@pytest.fixture
def fast_push(settings, demo_merchant, sandbox):
    settings.CHECKOUT_PUSH_TICK_SECONDS = 0.05
    settings.READ_REPAIR_INTERVAL_SECONDS = 0.05
    return settings


@pytest.mark.django_db(transaction=True)
def test_server_push_streams_the_state_and_ends_when_the_payment_lands(client, fast_push, sandbox):
    order = create_order(client)
    pay(client, order)
    payment = Payment.objects.get()

    async def customer_pays():
        sandbox.pay(payment.out_trade_no)  # its callback goes nowhere: read repair finds it

    events, raw = read_events(order.pk, on_first=customer_pays)

    assert raw.startswith("retry: ")
    assert [e["state"] for e in events] == [f"PAYING:{payment.pk}", "PAID:"]
    assert events[-1]["final"] is True


@pytest.mark.django_db(transaction=True)
def test_a_server_push_stream_ends_by_itself_after_its_lifetime(client, fast_push):
    fast_push.CHECKOUT_PUSH_LIFETIME_SECONDS = 0.3
    order = create_order(client)
    started = time.monotonic()

    events, _ = read_events(order.pk)

    # its lifetime is 0.3 s; a stream that never ended would run on
    assert time.monotonic() - started < 10
    assert [e["state"] for e in events] == ["UNPAID:"]


def test_the_site_has_a_favicon(client, demo_merchant):
    moved = client.get("/favicon.ico")
    icon = client.get(moved["Location"])

    assert moved.status_code == 301
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content if icon.streaming else [icon.content]).startswith(
        b"<svg"
    )
    assert 'rel="icon"' in client.get("/").content.decode()
