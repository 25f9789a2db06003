"""Checkout offers WeChat Pay from settings: the Native QR inline on a PC, the H5 page on a
phone and back to the return page, which asks WeChat Pay before it answers."""

from urllib.parse import quote

import pytest

from payments.models import Payment

# demo_merchant is the checkout tests' fixture (the seeded demo shop), used by name below
from tests.test_checkout import QR, create_order, demo_merchant, page, pay  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_merchant")]


def test_wechat_pay_is_offered_and_its_qr_shown_inline(client, wechatpay):
    order = create_order(client)

    offered = page(client, order)
    shown = client.get(pay(client, order, "wechatpay")["Location"]).content.decode()

    assert 'value="wechatpay"' in offered and "WeChat Pay" in offered
    payment = Payment.objects.get()
    code_url = payment.pay_action["qr_content"]
    assert code_url.startswith(f"{wechatpay.url}/_emulator/wallet/")
    assert QR.search(shown) and code_url in shown


def test_a_phone_goes_to_the_h5_page_and_comes_back_to_the_return_page(client, wechatpay, settings):
    order = create_order(client)

    response = pay(client, order, "wechatpay", client="mobile", seen_attempt="")

    assert response.status_code == 302
    return_url = f"{settings.PUBLIC_BASE_URL}/checkout/{order.pk}/return/"
    assert response["Location"].startswith(f"{wechatpay.url}/_emulator/wallet/")
    assert response["Location"].endswith(f"&redirect_url={quote(return_url, safe='')}")
    unpaid = page(client, order, "return/")
    wechatpay.pay(Payment.objects.get().out_trade_no)  # its callback goes nowhere
    paid = page(client, order, "return/")
    assert "Confirming your payment…" in unpaid
    assert "Payment received" in paid
