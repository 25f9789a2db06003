"""The wallet page in a real browser: a buyer opens the QR code, presses Pay, and Alipay's side
(query, notify) agrees; a WAP buyer ends on the merchant's return_url."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests import channel_servers

from .conftest import new_out_trade_no

pytestmark = pytest.mark.browser


def test_a_buyer_scans_and_pays_from_the_wallet_page(precreate, alipay, receiver):
    out_trade_no, answer = precreate(total_amount="19.99", subject="Oolong")
    with channel_servers.phone_page() as page:
        page.goto(answer["qr_code"])
        assert page.text_content(".amount") == "19.99 CNY"
        assert page.text_content("#trade-status") == "WAIT_BUYER_PAY"
        page.click("#pay-button")
        page.wait_for_selector("#result")
        assert page.text_content("#result") == "Payment successful"
        page.reload()  # post/redirect/get: reloading does not pay again
        assert page.text_content("#trade-status") == "TRADE_SUCCESS"
        assert page.query_selector("#pay-button") is None
    assert alipay.api_alipay_trade_query(out_trade_no=out_trade_no)["trade_status"] == (
        "TRADE_SUCCESS"
    )
    form = dict(receiver.wait_for(1)[0].form)
    assert alipay.verify(form, form.pop("sign"))


def test_a_wap_buyer_returns_to_the_merchant(alipay, emulator):
    out_trade_no = new_out_trade_no("wap")
    return_url = "http://127.0.0.1:9/return"
    order_string = alipay.api_alipay_trade_wap_pay(
        subject="Tea", out_trade_no=out_trade_no, total_amount="3.00", return_url=return_url
    )
    with channel_servers.phone_page() as page:
        page.goto(emulator.gateway_url + "?" + order_string)
        with page.expect_request(lambda request: request.url.startswith(return_url)) as back:
            page.click("#pay-button")
        returned = dict(parse_qsl(urlsplit(back.value.url).query))
    assert alipay.verify(returned, returned.pop("sign"))
    assert returned["out_trade_no"] == out_trade_no
