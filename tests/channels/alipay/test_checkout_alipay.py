"""Checkout offers Alipay from settings alone: on a desktop its pre-created QR inline, on a phone
a redirect to the signed wap.pay URL and a return page that asks Alipay before answering."""

import re
import secrets

import pytest
import requests
from django.core.management import call_command

from orders.models import Order
from payments.models import Payment
from tests.channel_servers import wallet_return_link

pytestmark = pytest.mark.django_db

QR = re.compile(r"<svg.*?</svg>", re.S)


@pytest.fixture
def order(client, alipay):
    call_command("seed_demo", verbosity=0)
    client.post("/shop/order/", {"product": "mug", "token": secrets.token_hex(16)})
    return Order.objects.latest("created_at")


def pay(customer, order, **fields):
    return customer.post(f"/checkout/{order.pk}/pay/", {"channel": "alipay", **fields})


def test_the_order_page_offers_alipay(client, order):
    html = client.get(f"/checkout/{order.pk}/").content.decode()

    assert 'name="channel" value="alipay"' in html and "Alipay" in html


def test_a_desktop_shows_the_alipay_qr_inline(client, order, alipay):
    html = client.get(pay(client, order)["Location"]).content.decode()

    payment = Payment.objects.get()
    assert payment.pay_action["type"] == "qr"
    assert payment.pay_action["qr_content"].startswith(f"{alipay.url}/_emulator/wallet/")
    assert QR.search(html) and payment.pay_action["qr_content"] in html


def test_a_phone_is_sent_to_alipay_and_its_return_page_asks_first(client, order, alipay):
    response = pay(client, order, client="mobile", seen_attempt="")

    payment = Payment.objects.get()
    assert (payment.client, payment.pay_action["type"]) == ("mobile", "redirect")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{alipay.gateway_url}?")
    assert (
        "Confirming your payment…" in client.get(f"/checkout/{order.pk}/return/").content.decode()
    )
    # the phone's browser opens the signed URL: Alipay's cashier, where the buyer pays
    cashier = requests.get(response["Location"], allow_redirects=False, timeout=10)
    assert cashier.status_code == 303
    paid = requests.post(
        f"{alipay.url}{cashier.headers['Location']}/pay", allow_redirects=False, timeout=10
    )
    assert paid.status_code == 303
    paid_page = requests.get(f"{alipay.url}{paid.headers['Location']}", timeout=10)
    assert "/return/" in wallet_return_link(paid_page.text)

    html = client.get(f"/checkout/{order.pk}/return/").content.decode()

    assert "Payment received" in html
