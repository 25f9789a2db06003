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


def test_back_from_the_return_page_does_not_bounce_the_phone_forward_again(shop, new_context):
    page = new_context(viewport=PHONE, user_agent=IPHONE, is_mobile=True, has_touch=True).new_page()
    buy(page, shop.url)
    page.locator("#pay-button").click()
    page.wait_for_url(re.compile(f"^{shop.sandbox.url}/wallet/"))
    page.locator("#pay-button").click()  # paid: the wallet sends the phone back by itself
    page.wait_for_url(re.compile(r"/return/$"))
    expect(heading(page, "Payment received")).to_be_visible()

    page.go_back()

    # the wallet's own page, saying it is paid, with a way back: and it stays there (the
    # wallet's own return after the Pay click replaced itself in the history)
    page.wait_for_url(re.compile(f"^{shop.sandbox.url}/wallet/"))
    expect(page.locator("#result")).to_have_text("Payment successful")
    expect(page.locator("#return-link")).to_be_visible()
    page.wait_for_timeout(4_000)  # longer than the wallet's return pause after a Pay click
    assert page.url.startswith(f"{shop.sandbox.url}/wallet/")


@pytest.mark.parametrize(
    ("code", "label"), [("wechatpay", "WeChat Pay"), ("alipay", "Alipay")], ids=str
)
def test_back_from_the_return_page_stays_on_an_emulators_wallet(
    shop, new_context, request, code, label
):
    # given the channel's emulator beside the shop's sandbox, and a phone paying in its H5 / WAP
    # page (WeChat's h5_url with our redirect_url, Alipay's WAP cashier with our return_url)
    emulator = request.getfixturevalue(code)  # registered after the shop's channels
    page = new_context(viewport=PHONE, user_agent=IPHONE, is_mobile=True, has_touch=True).new_page()
    buy(page, shop.url)
    page.get_by_label(label).check()
    page.locator("#pay-button").click()
    page.wait_for_url(re.compile(f"^{emulator.url}/_emulator/wallet/"))
    page.locator("#pay-button").click()  # paid: the wallet sends the phone back by itself
    page.wait_for_url(re.compile(r"/return/"))
    expect(heading(page, "Payment received")).to_be_visible()

    page.go_back()

    # then the wallet's own page, paid, with a way back, and the phone stays on it
    page.wait_for_url(re.compile(f"^{emulator.url}/_emulator/wallet/"))
    expect(page.locator("#result")).to_have_text("Payment successful")
    expect(page.locator("#return-link")).to_be_visible()
    page.wait_for_timeout(4_000)  # longer than the wallet's return pause after a Pay click
    assert page.url.startswith(f"{emulator.url}/_emulator/wallet/")
