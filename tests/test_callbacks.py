"""POST /callbacks/<channel>/: stored raw → verified → applied → acknowledged.

Every hostile input is stored in the inbox, answered with a clear 4xx, and changes nothing.
"""

import json
import time

import pytest

from orders.enums import OrderStatus
from payments.enums import NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification, ChannelTransaction, Discrepancy, Event
from tests.conftest import TEST_SECRET
from tests.factories import paying_attempt
from tests.helpers import signature_headers, signed_notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def paying(order, sandbox):
    return paying_attempt(order)


def post(client, headers, body, channel="sandbox"):
    return client.post(
        f"/callbacks/{channel}/", data=body, content_type="application/json", headers=headers
    )


def assert_nothing_changed(payment):
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING
    assert payment.order.status == OrderStatus.PAYING
    assert not ChannelTransaction.objects.exists()
    assert not Event.objects.exists()


def test_a_valid_callback_pays_the_order_and_is_acknowledged(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET)

    response = post(client, headers, body)

    assert (response.status_code, response.content) == (200, b"success")
    paying.refresh_from_db()
    assert paying.status == PaymentStatus.SUCCEEDED
    stored = ChannelNotification.objects.get()
    assert bytes(stored.body) == body
    assert stored.headers["X-Sandbox-Nonce"] == headers["X-Sandbox-Nonce"]
    assert (stored.outcome, stored.signature_valid) == (NotificationOutcome.APPLIED, True)
    assert stored.processed_at is not None


def test_a_repeated_callback_is_acknowledged_and_changes_nothing_more(client, paying):
    post(client, *signed_notification(paying, TEST_SECRET))

    response = post(client, *signed_notification(paying, TEST_SECRET))

    assert response.status_code == 200
    assert ChannelNotification.objects.filter(outcome="UNCHANGED").count() == 1
    assert Event.objects.filter(type="order.paid").count() == 1


def rejected(response, code):
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    stored = ChannelNotification.objects.get()
    assert stored.outcome == NotificationOutcome.REJECTED
    assert stored.error_code == code
    return stored


def test_bad_signature(client, paying):
    headers, body = signed_notification(paying, "not-the-secret")
    stored = rejected(post(client, headers, body), "bad_signature")
    assert stored.signature_valid is False
    assert_nothing_changed(paying)


def test_missing_signature(client, paying):
    _, body = signed_notification(paying, TEST_SECRET)
    stored = rejected(post(client, {}, body), "missing_signature")
    assert stored.signature_valid is False
    assert_nothing_changed(paying)


def test_tampered_amount_breaks_the_signature(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET)
    tampered = body.replace(b'"amount": 1000', b'"amount": 1')
    assert tampered != body
    rejected(post(client, headers, tampered), "bad_signature")
    assert_nothing_changed(paying)


def test_a_signed_but_wrong_amount_is_a_discrepancy(client, paying):
    rejected(post(client, *signed_notification(paying, TEST_SECRET, amount=1)), "amount_mismatch")
    assert_nothing_changed(paying)
    assert Discrepancy.objects.get().kind == "AMOUNT_MISMATCH"


def test_unknown_trade(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET, out_trade_no="P-not-ours")
    rejected(post(client, headers, body), "unknown_trade")
    assert_nothing_changed(paying)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", json.dumps({"status": "SUCCESS"}).encode(), b""],
    ids=["broken", "array", "fields-missing", "empty"],
)
def test_malformed_body(client, paying, body):
    headers = signature_headers(
        TEST_SECRET, body, timestamp=str(int(time.time())), nonce="n-malformed"
    )
    rejected(post(client, headers, body), "malformed")
    assert_nothing_changed(paying)


def test_stale_timestamp(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET, timestamp=int(time.time()) - 301)
    rejected(post(client, headers, body), "stale")
    assert_nothing_changed(paying)


def test_replayed_nonce(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET, nonce="n-once")
    assert post(client, headers, body).status_code == 200
    paid_events = Event.objects.count()

    response = post(client, headers, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "replayed"
    replay = ChannelNotification.objects.order_by("-pk").first()
    assert replay.outcome == NotificationOutcome.REJECTED and replay.accepted_nonce is None
    assert Event.objects.count() == paid_events
    assert ChannelTransaction.objects.count() == 1


def test_unknown_channel(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET)
    rejected(post(client, headers, body, channel="nosuch"), "unknown_channel")
    assert_nothing_changed(paying)


def test_get_is_not_allowed(client, sandbox):
    assert client.get("/callbacks/sandbox/").status_code == 405
    assert not ChannelNotification.objects.exists()
