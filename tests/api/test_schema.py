"""The OpenAPI schema and Swagger UI are served (no CDN), and describe what the API does."""

import json

import pytest
import yaml

from orders.models import Order
from partner_api.schema import ORDER_SNAPSHOT
from payments.events import order_payload, payment_payload, refund_payload
from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_endpoint_is_described_with_its_errors_and_headers(openapi):
    operations = {
        (method.upper(), path): operation
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    }

    assert set(operations) == {
        ("GET", "/api/v1/orders"),
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/orders/{order_id}"),
        ("POST", "/api/v1/orders/{order_id}/payments"),
        ("POST", "/api/v1/orders/{order_id}/close"),
        ("POST", "/api/v1/orders/{order_id}/refunds"),
        ("GET", "/api/v1/payments/{payment_id}"),
        ("POST", "/api/v1/payments/{payment_id}/sync"),
        ("GET", "/api/v1/refunds/{refund_id}"),
        ("GET", "/api/v1/events"),
        ("POST", "/api/v1/webhook-secret/rotate"),
    }
    for (method, _), operation in operations.items():
        responses = operation["responses"]
        assert {"401", "429"} <= set(responses)
        assert responses["429"]["headers"]["Retry-After"]
        assert responses["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        if method == "POST":
            headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
            assert headers == {"Idempotency-Key"}
            assert {"409", "422"} <= set(responses)
            assert "Idempotent-Replayed" in next(
                r["headers"] for code, r in responses.items() if code.startswith("2")
            )
    assert openapi["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert "Paycenter-Signature" in openapi["info"]["description"]


def test_the_event_schema_matches_the_payloads_the_services_write(openapi, order):
    schemas = openapi["components"]["schemas"]
    payment = Payment.objects.create(order=order, channel="sandbox", amount=1, currency="CNY")
    refund = Refund(payment=payment, amount=1, currency="CNY", reason="MANUAL")

    assert set(ORDER_SNAPSHOT["properties"]) == set(order_payload(Order.objects.get()))
    assert set(schemas["PaymentSnapshot"]["properties"]) == set(payment_payload(payment))
    assert set(schemas["RefundSnapshot"]["properties"]) == set(refund_payload(refund))
    assert set(schemas["Event"]["properties"]) == {"id", "type", "created_at", "data"}


def test_swagger_ui_is_served_without_any_cdn(client):
    page = client.get("/api/docs/").content.decode()

    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert bundle in page
    assert client.get(bundle).status_code == 200


def test_the_schema_is_also_served_as_yaml(client):
    document = yaml.safe_load(client.get("/api/schema/").content)

    assert document["openapi"].startswith("3.")
