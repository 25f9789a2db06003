"""POST/GET /orders: validation, resubmission, filters and cursor pagination."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"merchant_order_no": "mo-1", "amount": 1999, "currency": "CNY", "subject": "Tea"}


def test_an_order_is_created_with_its_checkout_url(partner, settings):
    settings.PUBLIC_BASE_URL = "https://pay.example"

    response = partner.post("/orders", ORDER | {"expires_in": 600})

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("ord_")
    assert body["checkout_url"] == f"https://pay.example/checkout/{body['id']}/"
    assert (body["status"], body["amount"], body["currency"]) == ("UNPAID", 1999, "CNY")
    assert (body["payments"], body["refunds"]) == ([], [])
    order = Order.objects.get()
    assert 590 < (order.expires_at - order.created_at).total_seconds() <= 600


def test_expires_in_defaults_to_the_setting(partner, settings):
    settings.ORDER_DEFAULT_EXPIRES_IN = 1800

    partner.post("/orders", ORDER)

    order = Order.objects.get()
    assert 1790 < (order.expires_at - order.created_at).total_seconds() <= 1800


def test_an_order_that_could_never_be_paid_is_refused(partner, settings):
    # paying stops TIME_EXPIRE_MARGIN_SECONDS (60) before expiry: 60 s would leave no time at all
    assert settings.TIME_EXPIRE_MARGIN_SECONDS == 60

    for expires_in in (60, 119):
        response = partner.post("/orders", ORDER | {"expires_in": expires_in})

        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_request", "expires_in")
        assert "at least 120 seconds" in error["message"]
    assert Order.objects.count() == 0
    assert partner.post("/orders", ORDER | {"expires_in": 120}).status_code == 201


def test_the_documented_minimum_expires_in_is_the_real_one(partner, settings):
    schema = partner.client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    field = schema["components"]["schemas"]["OrderCreateRequest"]["properties"]["expires_in"]

    minimum = settings.TIME_EXPIRE_MARGIN_SECONDS + 60
    assert field["minimum"] == minimum
    assert f"at least {minimum}" in field["description"]


def test_the_same_order_again_is_the_same_order_and_other_content_is_a_conflict(partner):
    first = partner.post("/orders", ORDER)
    again = partner.post("/orders", ORDER)
    other = partner.post("/orders", ORDER | {"amount": 2000})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "order_conflict"
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 19.99}, "amount"),
        ({"amount": 1999.0}, "amount"),
        ({"amount": "1999"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 10**12 + 1}, "amount"),
        ({"amount": 10**30}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "cny"}, "currency"),
        ({"merchant_order_no": "x" * 65}, "merchant_order_no"),
        ({"merchant_order_no": "has space"}, "merchant_order_no"),
        ({"merchant_order_no": "nul\x00byte"}, "merchant_order_no"),
        ({"subject": "s" * 257}, "subject"),
        ({"subject": "nul\x00"}, "subject"),
        ({"expires_in": 119}, "expires_in"),
        ({"expires_in": 86_401}, "expires_in"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"return_url": "ftp://example.com/"}, "return_url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(partner, change, field):
    response = partner.post("/orders", ORDER | change)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "malformed_json"),
        (b"[" * 100_000, "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 400, "invalid_request"),
        (b"amount=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies_are_4xx_json(partner, body, content_type, status, code):
    response = partner.client.post("/api/v1/orders", body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_body_over_the_size_limit_is_413(partner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = ORDER | {"subject": "s" * 2000}

    response = partner.post("/orders", body, **{"Idempotency-Key": "big"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_orders_are_listed_newest_first_with_a_cursor(partner):
    for number in range(5):
        partner.create_order(merchant_order_no=f"mo-{number}")

    first = partner.get("/orders", limit=2).json()
    second = partner.client.get(first["next"]).json()
    third = partner.client.get(second["next"]).json()

    numbers = [o["merchant_order_no"] for page in (first, second, third) for o in page["results"]]
    assert numbers == ["mo-4", "mo-3", "mo-2", "mo-1", "mo-0"]
    assert third["next"] is None


def test_orders_are_filtered_by_status_number_and_creation_time(partner):
    partner.create_order(merchant_order_no="old")
    Order.objects.update(created_at=timezone.now() - timedelta(days=2), status="CLOSED")
    partner.create_order(merchant_order_no="new")
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()

    def numbers(**params):
        return [o["merchant_order_no"] for o in partner.get("/orders", **params).json()["results"]]

    assert numbers(status="CLOSED") == ["old"]
    assert numbers(status="UNPAID") == ["new"]
    assert numbers(merchant_order_no="new") == ["new"]
    assert numbers(created_after=yesterday) == ["new"]
    assert numbers(created_before=yesterday) == ["old"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "LOST"},
        {"created_after": "yesterday"},
        {"cursor": "garbage"},
        {"cursor": "cD1ub3QtYS1kYXRl"},  # base64 of "p=not-a-date": a forged position
    ],
)
def test_bad_list_parameters_are_400(partner, params):
    response = partner.get("/orders", **params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_ids_that_cannot_exist_are_404_not_errors(partner):
    for order_id in ["ord_%00", "x" * 500, "ord_' OR 1=1"]:
        assert partner.get(f"/orders/{order_id}").status_code == 404
