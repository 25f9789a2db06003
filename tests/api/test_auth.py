"""Auth and scoping: a key is required, and a merchant only ever sees its own objects."""

import pytest
from rest_framework.test import APIClient

from orders.models import Merchant
from payments.enums import RefundReason
from payments.models import Payment, Refund
from payments.services.refunds import refund_create_in_transaction
from tests.conftest import API

pytestmark = pytest.mark.django_db

EVERY_ENDPOINT = [
    ("get", "/orders"),
    ("post", "/orders"),
    ("get", "/orders/{order}"),
    ("post", "/orders/{order}/payments"),
    ("post", "/orders/{order}/close"),
    ("post", "/orders/{order}/refunds"),
    ("get", "/payments/{payment}"),
    ("post", "/payments/{payment}/sync"),
    ("get", "/refunds/{refund}"),
    ("get", "/events"),
    ("post", "/webhook-secret/rotate"),
]
OBJECT_ENDPOINTS = [(method, path) for method, path in EVERY_ENDPOINT if "{" in path]


@pytest.fixture
def objects(partner):
    """An order of partner A with a succeeded payment and a refund (ids only)."""
    order = partner.create_order()
    payment = Payment.objects.create(
        order_id=order["id"], channel="sandbox", amount=1999, currency="CNY", status="SUCCEEDED"
    )
    refund = refund_create_in_transaction(
        payment=payment, amount=100, reason=RefundReason.MERCHANT_REQUEST, actor=API
    )
    return {"order": order["id"], "payment": payment.pk, "refund": refund.pk}


def call(client, method, path, objects):
    # POSTs carry a key, as refunds require one: the ownership check is what is tested
    headers = {"Idempotency-Key": f"auth-{method}-{path}"} if method == "post" else {}
    return getattr(client, method)(
        f"/api/v1{path.format(**objects)}", {}, format="json", headers=headers
    )


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer pk_wrong", "Basic dXNlcjpwYXNz", "Bearer", "pk_no_scheme"]
)
def test_a_missing_or_bad_key_is_401_json_everywhere(objects, method, path, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    response = call(client, method, path, objects)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_deactivated_merchant_is_401(partner):
    Merchant.objects.filter(pk=partner.merchant.pk).update(is_active=False)

    response = partner.get("/orders")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), OBJECT_ENDPOINTS)
def test_another_merchants_objects_are_404_everywhere(objects, other_partner, method, path):
    response = call(other_partner.client, method, path, objects)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_nothing_is_changed_through_another_merchants_ids(objects, other_partner):
    other_partner.post(f"/orders/{objects['order']}/close")
    other_partner.post(
        f"/orders/{objects['order']}/refunds", {"amount": 1}, **{"Idempotency-Key": "steal"}
    )

    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=objects["payment"]).order.status == "UNPAID"


def test_lists_show_only_the_merchants_own(objects, partner, other_partner):
    other_partner.create_order(merchant_order_no="b-1")

    mine = partner.get("/orders").json()["results"]
    theirs = other_partner.get("/orders").json()["results"]

    assert [order["id"] for order in mine] == [objects["order"]]
    assert [order["merchant_order_no"] for order in theirs] == ["b-1"]


def test_an_unknown_path_under_the_api_is_a_json_404(partner):
    response = partner.get("/nothing/here")

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "no such endpoint",
            "request_id": response["Request-Id"],
        }
    }
