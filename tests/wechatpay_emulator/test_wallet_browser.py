"""The wallet page in a real browser: a buyer opens the code_url, presses Pay, and WeChat's side
(query, callback) agrees. Also: paying twice from the wallet is refused."""

import json

import pytest

from tests import channel_servers

pytestmark = pytest.mark.browser


def test_a_buyer_pays_from_the_wallet_page(native_order, wxpay, receiver):
    out_trade_no, code, answer = native_order(total=1999, description="Oolong")
    assert code == 200
    with channel_servers.phone_page() as page:
        page.goto(answer["code_url"])
        assert page.text_content(".amount") == "19.99 CNY"
        assert page.text_content("#trade-status") == "NOTPAY"
        page.click("#pay-button")
        page.wait_for_selector("#result")
        assert page.text_content("#result") == "Payment successful"
        page.reload()  # post/redirect/get: reloading does not pay again
        assert page.text_content("#trade-status") == "SUCCESS"
        assert page.query_selector("#pay-button") is None
    assert json.loads(wxpay.query(out_trade_no=out_trade_no)[1])["trade_state"] == "SUCCESS"
    [callback] = receiver.wait_for(1)
    assert wxpay.callback(callback.headers, callback.body)["resource"]["amount"]["total"] == 1999


def test_paying_twice_from_the_wallet_is_refused(native_order, emulator):
    _, _, answer = native_order()
    action = answer["code_url"] + "/pay"
    assert (
        emulator.request(
            "POST", action.removeprefix(emulator.url), allow_redirects=False
        ).status_code
        == 303
    )
    again = emulator.request("POST", action.removeprefix(emulator.url), allow_redirects=False)
    assert again.status_code == 409
    assert "already paid" in again.text
    missing = emulator.request("GET", "/_emulator/wallet/wx_no_such_prepay")
    assert missing.status_code == 404
