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


# Where the API's error codes come from: its own answers, and the refusals of the services its
# views call (a Refusal keeps its code on the wire).
CODE_SOURCES = (
    "partner_api/errors.py",
    "partner_api/idempotency.py",
    "partner_api/views.py",
    "payments/services/attempts.py",
    "payments/services/order_closing.py",
    "payments/services/order_refunds.py",
    "payments/services/refunds.py",
    "orders/services.py",
)


def codes_in_source() -> set[str]:
    """Every snake_case string literal that is raised or answered as an error code: the first
    text argument of a Refusal/ApiError/error_response call, and the error tables' values."""
    import ast
    from pathlib import Path

    from django.conf import settings

    from partner_api.errors import API_EXCEPTION_CODES, REFUSAL_STATUS

    codes = set(REFUSAL_STATUS) | set(API_EXCEPTION_CODES.values())
    for source in CODE_SOURCES:
        tree = ast.parse((Path(settings.BASE_DIR) / source).read_text())
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if not name.endswith(
                ("Refused", "NotClosable", "Conflict", "ApiError", "error_response")
            ):
                continue
            texts = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
            codes |= {text for text in texts if isinstance(text, str) and text.isidentifier()}
    return codes


def test_every_error_code_the_api_can_answer_is_in_the_schema_and_the_guide(openapi):
    from django.conf import settings

    code = openapi["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    assert code["allOf"] == [{"$ref": "#/components/schemas/ErrorCodeEnum"}]
    listed = set(openapi["components"]["schemas"]["ErrorCodeEnum"]["enum"])
    guide = (settings.BASE_DIR / "docs" / "api.md").read_text()

    found = codes_in_source()

    assert found <= listed, found - listed
    assert {code for code in listed if f"`{code}`" not in guide} == set()


@pytest.mark.parametrize("doc", ["docs/api.md", "partner_api/description.md", "README.md"])
def test_the_partner_docs_name_only_files_that_exist(doc):
    import re

    from django.conf import settings

    root = settings.BASE_DIR
    text = (root / doc).read_text()
    named = set(re.findall(r"`([\w.-]+(?:/[\w.-]+)+\.(?:md|py|html|json|yml|yaml|toml))`", text))
    # files the running system generates under var/ or an emulator's data directory
    generated = {path for path in named if path.startswith(("var/", "keys/", "$"))}

    assert {path for path in named - generated if not (root / path).exists()} == set()
