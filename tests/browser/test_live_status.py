"""The pay page learns of the payment by itself, with every channel callback dropped:
by polling (read repair) through a network blip, and by server push alone."""

import pytest
from playwright.sync_api import expect

from payments.models import Payment
from tests.browser.helpers import buy, heading, pay_with

pytestmark = pytest.mark.browser


def all_callbacks_dropped(sandbox, out_trade_no: str) -> bool:
    sent = sandbox.notifications(out_trade_no)
    return bool(sent) and {n["status"] for n in sent} == {"dropped"}


def test_polling_turns_the_page_paid_through_a_network_blip(
    shop, new_context, live_server, settings
):
    # pytest-django's live server is WSGI: no server push there, the page polls
    settings.PUBLIC_BASE_URL = live_server.url
    shop.sandbox.set_faults({"notify_drop": 1})
    context = new_context()
    page = context.new_page()
    buy(page, live_server.url)
    pay_with(page)
    expect(page.locator("#live-status")).to_have_attribute("data-events-url", "")
    payment = Payment.objects.get()

    context.set_offline(True)
    shop.sandbox.pay(payment.out_trade_no)
    page.wait_for_timeout(800)  # polls fail and back off
    context.set_offline(False)

    expect(heading(page, "Payment received")).to_be_visible()
    assert all_callbacks_dropped(shop.sandbox, payment.out_trade_no)


def test_server_push_alone_turns_the_page_paid(shop, new_context, settings):
    settings.CHECKOUT_POLL_SECONDS = 600  # the page's first poll would come far too late
    shop.sandbox.set_faults({"notify_drop": 1})
    page = new_context().new_page()
    buy(page, shop.url)
    pay_with(page)
    payment = Payment.objects.get()

    shop.sandbox.pay(payment.out_trade_no)

    expect(heading(page, "Payment received")).to_be_visible(timeout=5_000)
    assert all_callbacks_dropped(shop.sandbox, payment.out_trade_no)
