"""A customer on a desktop buys, scans (the sandbox wallet in a second page) and sees the
result, which the back button does not undo."""

import pytest
from playwright.sync_api import expect

from orders.enums import OrderStatus
from orders.models import Order
from payments.models import Payment
from tests.browser.helpers import buy, heading, pay_with, screenshot

pytestmark = pytest.mark.browser


def test_a_customer_pays_by_qr_code_and_the_page_turns_paid_by_itself(shop, new_context):
    page = new_context().new_page()
    page.goto(f"{shop.url}/")
    screenshot(page, "1-shop")
    buy(page, shop.url)
    screenshot(page, "2-order")

    pay_with(page, "Sandbox wallet")
    screenshot(page, "3-pay")
    wallet = page.context.new_page()  # the phone that scanned the code
    wallet.goto(page.locator("#wallet-link").get_attribute("href"))
    wallet.locator("#pay-button").click()
    expect(wallet.get_by_text("Payment successful")).to_be_visible()

    # the pay page never navigated away, and turns to the result by itself
    expect(heading(page, "Payment received")).to_be_visible()
    screenshot(page, "4-result")
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.count() == 1

    # back button after paying: the result again, not a new QR code
    page.go_back()
    expect(heading(page, "Payment received")).to_be_visible()
    expect(page.locator("svg.qr-code")).to_have_count(0)
    expect(page.locator("#pay-button")).to_have_count(0)
    assert Payment.objects.count() == 1
