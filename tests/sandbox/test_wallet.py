"""The wallet page the QR code opens, and its Pay button."""

import re

import requests

from sandbox_channel.wallet import format_amount


def test_the_wallet_page_shows_the_trade_and_its_form_pays(sandbox, create_trade, receiver):
    trade = create_trade(
        sandbox, "pay_001", amount=1234, subject="Green tea", return_url="http://shop.test/back"
    ).json()

    page = requests.get(trade["qr_content"], timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Green tea" in page.text
    assert "12.34 CNY" in page.text
    assert 'name="viewport"' in page.text
    assert 'id="pay-button"' in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    assert action == f"/wallet/{trade['trade_no']}/pay"

    result = requests.post(sandbox.url + action, timeout=5)

    assert result.status_code == 200
    assert result.history[0].status_code == 303  # post/redirect/get
    assert "Payment successful" in result.text
    assert 'href="http://shop.test/back"' in result.text
    assert 'id="pay-button"' not in result.text
    assert sandbox.trade("pay_001")["status"] == "SUCCESS"
    assert receiver.wait_for(1)[0].payload["out_trade_no"] == "pay_001"


def test_paying_twice_from_the_wallet_is_refused(sandbox, create_trade):
    trade = create_trade(sandbox, "pay_001").json()
    sandbox.pay("pay_001")

    again = requests.post(f"{sandbox.url}/wallet/{trade['trade_no']}/pay", timeout=5)

    assert again.status_code == 409
    assert "Payment successful" in again.text
    assert len(sandbox.notifications("pay_001")) <= 1


def test_a_closed_trade_cannot_be_paid_from_the_wallet(sandbox, create_trade):
    trade = create_trade(sandbox, "pay_001").json()
    sandbox.request("POST", "/v1/trades/pay_001/close")

    page = requests.get(trade["pay_url"], timeout=5)
    paid = requests.post(f"{sandbox.url}/wallet/{trade['trade_no']}/pay", timeout=5)

    assert "cannot be paid" in page.text
    assert 'id="pay-button"' not in page.text
    assert paid.status_code == 409
    assert sandbox.trade("pay_001")["status"] == "CLOSED"


def test_an_unknown_wallet_is_a_404_page(sandbox):
    page = requests.get(f"{sandbox.url}/wallet/SBX000", timeout=5)
    paid = requests.post(f"{sandbox.url}/wallet/SBX000/pay", timeout=5)

    assert page.status_code == paid.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")


def test_the_wallet_escapes_what_the_merchant_sent(sandbox, create_trade):
    trade = create_trade(sandbox, "pay_001", subject="<script>alert(1)</script>").json()

    page = requests.get(trade["pay_url"], timeout=5)

    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_amounts_are_formatted_from_minor_units():
    assert format_amount(1234, "CNY") == "12.34 CNY"
    assert format_amount(5, "USD") == "0.05 USD"
    assert format_amount(123456789, "EUR") == "1,234,567.89 EUR"
    assert format_amount(500, "JPY") == "500 JPY"
    assert format_amount(1234, "KWD") == "1.234 KWD"


def test_the_root_page_says_what_this_is_and_links_its_docs_api_and_wallets(sandbox, create_trade):
    trade = create_trade(sandbox, "pay_home", amount=1234, subject="Oolong").json()

    page = requests.get(f"{sandbox.url}/", timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Sandbox payment channel" in page.text
    assert "docs/sandbox.md" in page.text
    assert f'href="/wallet/{trade["trade_no"]}">Oolong</a>' in page.text
    assert 'href="/v1/faults"' in page.text
    assert '<link rel="icon"' in page.text


def test_the_sandbox_has_a_favicon(sandbox):
    icon = requests.get(f"{sandbox.url}/favicon.ico", timeout=5)

    assert icon.status_code == 200
    assert icon.headers["Content-Type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")


def test_right_after_the_pay_click_the_wallet_returns_and_leaves_the_history(sandbox, create_trade):
    trade = create_trade(sandbox, "pay_back", return_url="http://shop.test/back").json()

    after_pay = requests.post(f"{sandbox.url}/wallet/{trade['trade_no']}/pay", timeout=5)
    visited_again = requests.get(trade["qr_content"], timeout=5)

    assert 'location.replace("http://shop.test/back")' in after_pay.text
    assert "location.replace" not in visited_again.text  # Back lands here: it stays
    assert 'href="http://shop.test/back"' in visited_again.text
    assert visited_again.headers["Cache-Control"] == "no-store"
