"""A callback's apply in real transactions, as production runs it: no test transaction around
it, so the apply block is the outermost one (BEGIN … COMMIT, no savepoint) and a rejection
after its first write rolls that write back. The same nonce sent at once by several senders is
taken by one of them; the others are rejected as replays and change nothing."""

import pytest
from django.test import Client

from orders.enums import OrderStatus
from payments.enums import NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification, ChannelTransaction, Event
from tests.conftest import TEST_SECRET
from tests.factories import paying_attempt
from tests.helpers import race, signed_notification

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paying(order, sandbox):
    return paying_attempt(order)


def post(headers, body):
    return Client().post(
        "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
    )


def test_a_replayed_nonce_is_rejected_and_pays_nothing_twice(paying):
    headers, body = signed_notification(paying, TEST_SECRET, nonce="n-real-once")
    assert post(headers, body).content == b"success"

    response = post(headers, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "replayed"
    first, replay = ChannelNotification.objects.order_by("pk")
    assert (first.outcome, first.accepted_nonce) == (NotificationOutcome.APPLIED, "n-real-once")
    assert (replay.outcome, replay.accepted_nonce) == (NotificationOutcome.REJECTED, None)
    assert ChannelTransaction.objects.count() == 1
    assert Event.objects.count() == 2  # payment.succeeded and order.paid, once


def test_a_rejection_after_the_nonce_was_taken_gives_the_nonce_back(paying):
    headers, body = signed_notification(
        paying, TEST_SECRET, nonce="n-unknown", out_trade_no="P-never-issued"
    )

    response = post(headers, body)

    assert response.json()["error"]["code"] == "unknown_trade"
    row = ChannelNotification.objects.get()
    assert (row.outcome, row.accepted_nonce) == (NotificationOutcome.REJECTED, None)
    assert row.headers and bytes(row.body) == body  # the stored request is kept as it came
    assert not Event.objects.exists()


def test_one_nonce_sent_at_once_by_several_senders_is_applied_once(paying):
    headers, body = signed_notification(paying, TEST_SECRET, nonce="n-raced")

    answers = race(lambda _: post(headers, body), 6)

    codes = sorted(
        answer.content.decode() if answer.status_code == 200 else answer.json()["error"]["code"]
        for answer in answers
    )
    assert codes == ["replayed"] * 5 + ["success"], answers
    paying.refresh_from_db()
    assert paying.status == PaymentStatus.SUCCEEDED
    assert paying.order.status == OrderStatus.PAID
    assert ChannelTransaction.objects.count() == 1
    assert Event.objects.count() == 2
    outcomes = sorted(ChannelNotification.objects.values_list("outcome", flat=True))
    assert outcomes == [NotificationOutcome.APPLIED] + [NotificationOutcome.REJECTED] * 5
