"""Double clicks, second tabs and switching channels never make a second payment attempt
that could still be paid."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.enums import PaymentStatus
from payments.models import Payment
from tests.browser.helpers import buy, heading, pay_with, screenshot

pytestmark = pytest.mark.browser


def test_double_clicks_on_create_order_and_pay_make_one_order_and_one_attempt(shop, new_context):
    page = new_context().new_page()
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url.split("/")[-2]))
    page.goto(f"{shop.url}/")

    page.locator("#create-order").dblclick()
    expect(heading(page, "Choose how to pay")).to_be_visible()
    page.locator("#pay-button").dblclick()
    expect(page.locator("svg.qr-code")).to_be_visible()

    assert posts == ["order", "pay"]  # the page sends each form once
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1


def test_going_back_and_submitting_again_makes_no_second_order_or_attempt(shop, new_context):
    # without JavaScript, nothing in the page holds a second submission back
    page = new_context(java_script_enabled=False).new_page()
    first = buy(page, shop.url)
    page.go_back()
    page.locator("#create-order").click()  # the same form again
    expect(heading(page, "Choose how to pay")).to_be_visible()
    again = page.url
    page.get_by_label("Sandbox wallet").check()
    page.locator("#pay-button").click()
    expect(page.locator("svg.qr-code")).to_be_visible()
    page.go_back()

    # the order page, fetched again, knows the attempt: it asks instead of offering Pay
    expect(heading(page, "Have you already completed the payment?")).to_be_visible()
    assert first in again
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1


def test_two_tabs_pressing_pay_at_once_make_one_payment_attempt(shop, new_context):
    context = new_context()
    first = context.new_page()
    buy(first, shop.url)
    second = context.new_page()
    second.goto(first.url)

    # clicked from script, after evaluate returns: neither waits for its answer, and a page
    # navigating (its own submit, or a live-status reload) cannot break the evaluate
    for tab in (first, second):
        tab.evaluate("setTimeout(() => document.getElementById('pay-button').click(), 0)")

    for tab in (first, second):
        expect(tab.locator("svg.qr-code")).to_be_visible()
    payment = Payment.objects.get()
    for tab in (first, second):
        expect(tab.locator("#wallet-link")).to_have_attribute(
            "href", re.compile(f"/wallet/{payment.channel_trade_no}$")
        )


def test_a_tab_left_open_asks_first_and_cannot_switch_channel_under_a_started_payment(
    shop, new_context
):
    paying = new_context().new_page()
    order_id = buy(paying, shop.url)
    watching = paying.context.new_page()
    watching.goto(paying.url)
    # a page that cannot update itself (no JavaScript), rendered before the payment started
    stale = new_context(java_script_enabled=False).new_page()
    stale.goto(f"{shop.url}/checkout/{order_id}/")

    pay_with(paying, "Sandbox wallet")
    stale.get_by_label("Sandbox card").check()
    stale.locator("#pay-button").click()

    expect(heading(watching, "Have you already completed the payment?")).to_be_visible()
    expect(heading(stale, "Have you already completed the payment?")).to_be_visible()
    expect(stale.get_by_role("alert")).to_contain_text("already started")
    screenshot(stale, "5-in-progress")
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PAYING
    assert shop.sandbox.trade(payment.out_trade_no)["status"] == "WAITING"


def test_pay_another_way_closes_the_old_trade_at_the_sandbox(shop, new_context):
    page = new_context().new_page()
    buy(page, shop.url)
    pay_with(page, "Sandbox wallet")
    page.reload()
    expect(heading(page, "Have you already completed the payment?")).to_be_visible()

    page.get_by_role("button", name="I have paid — check now").click()
    expect(page.get_by_role("status").first).to_contain_text("has not reached us yet")
    page.get_by_label("Sandbox card").check()
    page.get_by_role("button", name="Pay another way").click()

    expect(heading(page, "Scan to pay")).to_be_visible()
    old, new = Payment.objects.order_by("created_at")
    assert shop.sandbox.trade(old.out_trade_no)["status"] == "CLOSED"
    assert (old.status, new.status) == (PaymentStatus.CLOSED, PaymentStatus.PAYING)
    assert new.channel == "sandbox_card"
    expect(page.locator("#wallet-link")).to_have_attribute(
        "href", re.compile(f"/wallet/{new.channel_trade_no}$")
    )
