"""Idempotency-Key: replayed byte for byte, refused for another body or while in flight,
released by a crash, purged after its retention."""

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from orders.models import Order
from partner_api.idempotency import request_fingerprint
from payments import tasks
from payments.models import IdempotencyKey, Payment
from payments.services.retention import retention_purge
from tests.helpers import race

ORDER = {"merchant_order_no": "mo-1", "amount": 1999, "currency": "CNY", "subject": "Tea"}


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_posts_with_one_key_make_one_order_and_one_answer(partner, api_server):
    headers = partner.auth | {"Idempotency-Key": "race-1"}

    responses = race(
        lambda _: requests.post(
            f"{api_server}/api/v1/orders", json=ORDER, headers=headers, timeout=30
        ),
        30,
    )

    assert Order.objects.count() == 1
    answered = [r for r in responses if r.status_code != 409]
    in_flight = [r for r in responses if r.status_code == 409]
    assert all(r.json()["error"]["code"] == "idempotency_key_in_use" for r in in_flight)
    assert all(r.headers["Retry-After"] == "1" for r in in_flight)
    assert {(r.status_code, r.content) for r in answered} == {(201, answered[0].content)}
    replayed = [r for r in answered if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == len(answered) - 1
    # after the race, the key answers everyone with the first answer
    late = requests.post(f"{api_server}/api/v1/orders", json=ORDER, headers=headers)
    assert (late.status_code, late.content) == (201, answered[0].content)


@pytest.mark.django_db
def test_a_replay_is_the_first_answer_byte_for_byte_even_after_the_order_changed(partner):
    first = partner.post("/orders", ORDER, **{"Idempotency-Key": "k1"})
    Order.objects.update(status="CLOSED")

    again = partner.post("/orders", ORDER, **{"Idempotency-Key": "k1"})

    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


@pytest.mark.django_db
def test_the_same_key_with_another_request_is_422_and_does_nothing(partner):
    partner.post("/orders", ORDER, **{"Idempotency-Key": "k1"})

    other_body = partner.post("/orders", ORDER | {"amount": 5}, **{"Idempotency-Key": "k1"})
    order_id = Order.objects.get().pk
    other_path = partner.post(f"/orders/{order_id}/close", **{"Idempotency-Key": "k1"})

    for response in (other_body, other_path):
        assert response.status_code == 422
        assert response.json()["error"] == {
            "code": "idempotency_key_reused",
            "message": "this Idempotency-Key was used for a different request",
            "field": "Idempotency-Key",
            "request_id": response["Request-Id"],
        }
    assert Order.objects.get().status == "UNPAID"


@pytest.mark.django_db
def test_keys_are_per_merchant(partner, other_partner):
    mine = partner.post("/orders", ORDER, **{"Idempotency-Key": "shared"})
    theirs = other_partner.post("/orders", ORDER, **{"Idempotency-Key": "shared"})

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def hold_key(partner, key: str, locked_at) -> None:
    """The key as a request that is still running (or died mid-request) holds it."""
    partner.post("/orders", {}, **{"Idempotency-Key": key})
    IdempotencyKey.objects.filter(key=key).update(
        request_fingerprint=request_fingerprint(
            "POST", "/api/v1/orders", json.dumps(ORDER, separators=(",", ":")).encode()
        ),
        response_status=None,
        response_body=None,
        locked_at=locked_at,
    )


@pytest.mark.django_db
def test_a_key_held_by_a_running_request_is_409(partner):
    hold_key(partner, "busy", locked_at=timezone.now())

    response = partner.post("/orders", ORDER, **{"Idempotency-Key": "busy"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_key_left_locked_by_a_dead_process_is_taken_over_after_the_timeout(partner, settings):
    settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = 60
    hold_key(partner, "orphan", locked_at=timezone.now() - timedelta(seconds=61))

    response = partner.post("/orders", ORDER, **{"Idempotency-Key": "orphan"})

    assert response.status_code == 201
    assert IdempotencyKey.objects.get().response_status == 201


@pytest.mark.django_db
def test_a_crash_mid_request_leaves_the_key_reusable(partner, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("worker crashed mid-request")

    monkeypatch.setattr("partner_api.views.order_submit", crash)
    crashed = partner.post("/orders", ORDER, **{"Idempotency-Key": "k1"})
    monkeypatch.undo()

    retried = partner.post("/orders", ORDER, **{"Idempotency-Key": "k1"})

    assert crashed.status_code == 500
    assert crashed.json()["error"]["code"] == "internal_error"
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_5xx_from_the_channel_leaves_the_key_reusable(partner, sandbox):
    order = partner.create_order()
    path = f"/orders/{order['id']}/payments"
    sandbox.set_faults({"api_error_rate": {"create": 1}})

    failed = partner.post(path, {"channel": "sandbox"}, **{"Idempotency-Key": "pay-1"})
    sandbox.reset_faults()
    retried = partner.post(path, {"channel": "sandbox"}, **{"Idempotency-Key": "pay-1"})

    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "channel_unavailable"
    assert retried.status_code == 200
    assert retried.json()["status"] == "PAYING"
    assert Payment.objects.count() == 1  # the same attempt, sent again with its out_trade_no


@pytest.mark.django_db
def test_4xx_answers_are_kept_and_replayed(partner):
    first = partner.post("/orders", ORDER | {"amount": -1}, **{"Idempotency-Key": "k1"})
    again = partner.post("/orders", ORDER | {"amount": -1}, **{"Idempotency-Key": "k1"})

    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
@pytest.mark.django_db
def test_a_malformed_key_is_400(partner, key):
    response = partner.client.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_keys_older_than_the_retention_are_purged(partner, settings):
    settings.IDEMPOTENCY_KEY_RETENTION_SECONDS = 3600
    partner.post("/orders", ORDER, **{"Idempotency-Key": "old"})
    partner.post("/orders", ORDER | {"merchant_order_no": "mo-2"}, **{"Idempotency-Key": "new"})
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(seconds=3601)
    )

    assert tasks.retention_purge()["idempotency_keys"] == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert retention_purge(kind="idempotency_keys", now=timezone.now()) == 0
