"""Badly signed callbacks slow down: after AUTH_FAILURE_LIMIT of them from one address, its
callbacks are still stored (nothing received is dropped) but answered 429 in the channel's
dialect without a verdict; the inbox job verifies and applies them later."""

import pytest
from django.utils import timezone

from orders.enums import OrderStatus
from payments.enums import NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification, Payment
from payments.services.notifications import notifications_reprocess_stale
from tests.conftest import TEST_SECRET
from tests.helpers import signed_notification

pytestmark = pytest.mark.django_db

GUESSER = "203.0.113.7"


@pytest.fixture
def paying(order, sandbox):
    order.status = OrderStatus.PAYING
    order.save()
    return Payment.objects.create(
        order=order, channel="sandbox", amount=order.amount, currency="CNY", status="PAYING"
    )


def post(client, headers, body, address=GUESSER):
    return client.post(
        "/callbacks/sandbox/",
        data=body,
        content_type="application/json",
        headers=headers,
        REMOTE_ADDR=address,
    )


def test_an_address_sending_bad_signatures_gets_no_verdict_but_nothing_is_lost(
    client, paying, settings
):
    settings.AUTH_FAILURE_LIMIT = 3
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    forged_headers, forged_body = signed_notification(paying, "a guessed secret")

    verdicts = [post(client, forged_headers, forged_body).status_code for _ in range(3)]
    # the right secret from that address, e.g. the real channel behind the same address
    headers, body = signed_notification(paying, TEST_SECRET)
    throttled = post(client, headers, body)

    assert verdicts == [400, 400, 400]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_failures"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert post(client, headers, body, address="198.51.100.9").status_code == 200
    # the throttled one was stored, and the inbox job applies (here: finds it already applied)
    assert ChannelNotification.objects.count() == 5
    notifications_reprocess_stale(now=timezone.now(), batch=10)
    assert not ChannelNotification.objects.filter(outcome=NotificationOutcome.RECEIVED).exists()
    paying.refresh_from_db()
    assert paying.status == PaymentStatus.SUCCEEDED


def test_a_throttled_valid_callback_is_applied_by_the_inbox_job(client, paying, settings):
    settings.AUTH_FAILURE_LIMIT = 1
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    post(client, *signed_notification(paying, "a guessed secret"))

    answer = post(client, *signed_notification(paying, TEST_SECRET))

    assert answer.status_code == 429
    paying.refresh_from_db()
    assert paying.status == PaymentStatus.PAYING
    notifications_reprocess_stale(now=timezone.now(), batch=10)
    paying.refresh_from_db()
    assert paying.status == PaymentStatus.SUCCEEDED
