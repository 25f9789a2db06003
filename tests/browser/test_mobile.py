"""A phone pays in the channel's own page and comes back to a page that asked the channel."""

import re

import pytest
from playwright.sync_api import expect

from orders.enums import OrderStatus
from orders.models import Order
from tests.browser.helpers import IPHONE, PHONE, buy, heading, screenshot

pytestmark = pytest.mark.browser


def test_a_phone_pays_at_the_channel_and_the_return_page_confirms_it(shop, new_context):
    shop.sandbox.set_faults({"notify_drop": 1})  # only the return page's own query can tell
    page = new_context(viewport=PHONE, user_agent=IPHONE, is_mobile=True, has_touch=True).new_page()
    order_id = buy(page, shop.url)
    expect(page.get_by_label("Pay on this device")).to_be_checked()
    screenshot(page, "7-order-on-a-phone")

    page.locator("#pay-button").click()
    page.wait_for_url(re.compile(f"^{shop.sandbox.url}/wallet/"))
    # back from the channel without paying yet
    page.goto(f"{shop.url}/checkout/{order_id}/return/")
    expect(heading(page, "Confirming your payment…")).to_be_visible()
    screenshot(page, "8-return-confirming")
    page.go_back()
    page.locator("#pay-button").click()
    page.locator("#return-link").click()

    expect(heading(page, "Payment received")).to_be_visible()
    assert Order.objects.get().status == OrderStatus.PAID
