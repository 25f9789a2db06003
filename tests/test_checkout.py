"""The thin demo checkout, through Django's test client against the real sandbox."""

import re

import pytest
from django.conf import settings
from django.core.management import call_command

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.channels import get_channel
from payments.models import Payment
from payments.services.results import payment_apply_channel_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_merchant(db):
    call_command("seed_demo", verbosity=0)


def create_order(client) -> Order:
    response = client.post("/shop/order/", {"product": "mug"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert response["Location"] == f"/checkout/{order.pk}/"
    return order


def test_the_shop_lists_products_with_formatted_prices(client, demo_merchant):
    page = client.get("/").content.decode()
    assert "Ceramic mug" in page and "CNY 25.00" in page


def test_a_bad_product_is_a_clear_400(client, demo_merchant):
    assert client.post("/shop/order/", {"product": "yacht"}).status_code == 400
    assert not Order.objects.exists()


def test_order_page_offers_channels_then_shows_the_same_qr_on_every_render(
    client, demo_merchant, sandbox
):
    order = create_order(client)
    page = client.get(f"/checkout/{order.pk}/").content.decode()
    assert 'name="channel"' in page and "CNY 25.00" in page
    assert order.merchant_id == settings.DEMO_MERCHANT_ID

    client.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox"})
    first = client.get(f"/checkout/{order.pk}/").content.decode()
    client.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox"})  # double click
    second = client.get(f"/checkout/{order.pk}/").content.decode()

    payment = Payment.objects.get()
    wallet = f"{sandbox.url}/wallet/{payment.channel_trade_no}"
    assert "<svg" in first and wallet in first
    assert re.sub(r"csrf\w+", "", first) == re.sub(r"csrf\w+", "", second)
    assert 'name="channel"' not in first


def test_the_status_endpoint_reports_paid_after_the_wallet_pays(client, demo_merchant, sandbox):
    order = create_order(client)
    client.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox"})
    payment = Payment.objects.get()
    sandbox.pay(payment.out_trade_no)
    # no live server here: the success is learned by a query, as the query job would
    payment_apply_channel_result(
        result=get_channel("sandbox").query_trade(payment.out_trade_no),
        source="query",
        actor=Actor(ActorKind.QUERY_JOB, "test"),
    )

    assert client.get(f"/checkout/{order.pk}/status/").json()["status"] == OrderStatus.PAID
    assert "Payment received" in client.get(f"/checkout/{order.pk}/").content.decode()


def test_a_refused_payment_is_explained_on_the_page(client, demo_merchant, sandbox):
    order = create_order(client)
    sandbox.set_faults({"api_error_rate": {"create": 1}})

    response = client.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox"}, follow=True)

    assert "the channel did not answer; try again" in response.content.decode()


def test_paying_without_choosing_a_channel_is_explained(client, demo_merchant, sandbox):
    order = create_order(client)
    response = client.post(f"/checkout/{order.pk}/pay/", {}, follow=True)
    assert "Choose how to pay." in response.content.decode()
    assert not Payment.objects.exists()


def test_unknown_order_is_404(client, demo_merchant):
    assert client.get("/checkout/ord_nope/").status_code == 404
