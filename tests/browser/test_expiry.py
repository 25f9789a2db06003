"""An order past its time cannot be paid, and an open page notices by itself."""

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from orders.models import Merchant
from payments.models import Payment
from tests.browser.helpers import heading, screenshot
from tests.factories import make_order

pytestmark = pytest.mark.browser


def test_an_open_page_turns_expired_by_itself_and_offers_no_way_to_pay(shop, new_context, settings):
    settings.TIME_EXPIRE_MARGIN_SECONDS = 0
    order = make_order(Merchant.objects.get(pk=django_settings.DEMO_MERCHANT_ID), expires_in=3)
    page = new_context().new_page()
    page.goto(f"{shop.url}/checkout/{order.pk}/")
    expect(heading(page, "Choose how to pay")).to_be_visible()
    # whole seconds left, rounded down at the channels' deadline: 0:01 to 0:03 on a busy machine
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"0:0[1-3]"))

    # the countdown reaches zero and the page asks the server again
    expect(heading(page, "This order has expired")).to_be_visible(timeout=8_000)
    expect(page.locator("#pay-button")).to_have_count(0)
    expect(page.locator("input[name=channel]")).to_have_count(0)
    screenshot(page, "6-expired")
    page.reload()
    expect(heading(page, "This order has expired")).to_be_visible()
    assert not Payment.objects.exists()
