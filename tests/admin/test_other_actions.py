"""Reprocess a callback, replay a dead webhook, resolve a discrepancy — from the admin."""

import pytest
from django.contrib.admin.models import LogEntry

from payments.enums import DeliveryStatus, EventType, NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification, Discrepancy, Event, WebhookDelivery
from payments.services.notifications import notification_process, notification_receive
from tests.admin.conftest import hidden_inputs, messages_of, run_action
from tests.admin.conftest import paying as paying_at_sandbox
from tests.admin.scenario import aged
from tests.conftest import TEST_SECRET
from tests.helpers import signed_notification

pytestmark = pytest.mark.django_db

CALLBACKS = "/admin/payments/channelnotification/"
DELIVERIES = "/admin/payments/webhookdelivery/"
DISCREPANCIES = "/admin/reconciliation/discrepancy/"


@pytest.fixture
def paying(merchant, sandbox):
    return paying_at_sandbox(merchant)


def stored_callback(payment, secret=TEST_SECRET, **overrides) -> ChannelNotification:
    headers, body = signed_notification(payment, secret, **overrides)
    return notification_receive(channel="sandbox", headers=headers, body=body, peer="127.0.0.1")


def channel_secret(settings, secret: str) -> None:
    channels = {code: dict(options) for code, options in settings.PAYMENT_CHANNELS.items()}
    channels["sandbox"]["secret"] = secret
    settings.PAYMENT_CHANNELS = channels  # a new dict: the adapter registry is rebuilt


def test_a_callback_stored_but_never_processed_is_applied(finance, paying):
    callback = aged(stored_callback(paying), "received_at", 60)  # its process died

    final, _ = run_action(finance, CALLBACKS, "reprocess_callbacks", [callback])

    assert messages_of(final) == [f"{callback}: was RECEIVED, now APPLIED"]
    callback.refresh_from_db()
    paying.refresh_from_db()
    assert callback.outcome == NotificationOutcome.APPLIED
    assert paying.status == PaymentStatus.SUCCEEDED


def test_a_callback_its_own_request_is_still_processing_is_left_to_it(finance, paying):
    callback = stored_callback(paying)

    final, _ = run_action(finance, CALLBACKS, "reprocess_callbacks", [callback])

    assert messages_of(final) == [
        f"{callback}: refused: this callback is being processed right now"
    ]
    callback.refresh_from_db()
    assert callback.outcome == NotificationOutcome.RECEIVED


def test_a_callback_rejected_by_our_wrong_secret_is_applied_once_the_secret_is_fixed(
    finance, paying, settings
):
    channel_secret(settings, "a-stale-secret")  # misconfigured: genuine callbacks fail
    callback = notification_process(notification_id=stored_callback(paying).pk)
    assert (callback.outcome, callback.error_code) == ("REJECTED", "bad_signature")
    channel_secret(settings, TEST_SECRET)  # fixed

    final, _ = run_action(finance, CALLBACKS, "reprocess_callbacks", [callback])

    assert messages_of(final) == [f"{callback}: was REJECTED bad_signature, now APPLIED"]
    callback.refresh_from_db()
    paying.refresh_from_db()
    assert callback.outcome == NotificationOutcome.APPLIED and callback.signature_valid
    assert paying.status == PaymentStatus.SUCCEEDED
    assert LogEntry.objects.get(object_id=str(callback.pk)).user.username == "fiona.finance"


def test_a_forged_callback_stays_rejected(finance, paying):
    callback = notification_process(
        notification_id=stored_callback(paying, secret="an-attackers-secret").pk
    )

    run_action(finance, CALLBACKS, "reprocess_callbacks", [callback])

    callback.refresh_from_db()
    paying.refresh_from_db()
    assert (callback.outcome, callback.error_code) == ("REJECTED", "bad_signature")
    assert paying.status == PaymentStatus.PAYING


def test_a_stale_callback_is_not_verified_again(finance, paying):
    callback = notification_process(
        notification_id=stored_callback(paying, timestamp=1_000_000_000).pk
    )
    assert callback.error_code == "stale"

    final, _ = run_action(finance, CALLBACKS, "reprocess_callbacks", [callback])

    assert messages_of(final) == [f"{callback}: refused: a callback rejected as stale stays so"]
    paying.refresh_from_db()
    assert paying.status == PaymentStatus.PAYING


def test_an_applied_callback_is_left_alone(finance, paying):
    callback = notification_process(notification_id=stored_callback(paying).pk)

    final, _ = run_action(finance, CALLBACKS, "reprocess_callbacks", [callback])

    assert messages_of(final) == [f"{callback}: refused: this callback was already APPLIED"]


@pytest.fixture
def deliveries(merchant):
    event = Event.objects.create(merchant=merchant, type=EventType.ORDER_PAID, payload={})
    return [
        WebhookDelivery.objects.create(
            event=event,
            endpoint_url=f"https://partner.example/{status}",
            status=status,
            attempts=13,
        )
        for status in (DeliveryStatus.DEAD, DeliveryStatus.DELIVERED)
    ]


def test_a_dead_delivery_is_replayed_and_a_live_one_is_refused(finance, deliveries):
    dead, delivered = deliveries

    final, _ = run_action(finance, DELIVERIES, "replay_deliveries", deliveries)

    assert sorted(messages_of(final)) == sorted(
        [
            f"{dead}: queued again (PENDING); sent right after this request",
            f"{delivered}: refused: only a dead delivery can be replayed",
        ]
    )
    dead.refresh_from_db()
    delivered.refresh_from_db()
    assert (dead.status, dead.attempts, dead.replayed_by) == ("PENDING", 0, "ADMIN:fiona.finance")
    assert delivered.status == DeliveryStatus.DELIVERED


def test_support_cannot_replay(support, deliveries):
    response = support.post(
        DELIVERIES,
        {"action": "replay_deliveries", "index": "0", "_selected_action": [deliveries[0].pk]},
        follow=True,
    )

    assert response.context["action_form"] is None  # nothing to offer support here
    assert messages_of(response) == []
    deliveries[0].refresh_from_db()
    assert deliveries[0].status == DeliveryStatus.DEAD


def test_a_discrepancy_is_resolved_with_a_note_once(finance):
    discrepancy = Discrepancy.objects.create(
        channel="sandbox", kind="AMOUNT_MISMATCH", out_trade_no="P1", details={}
    )

    run_action(finance, DISCREPANCIES, "resolve_discrepancies", [discrepancy], note="refunded")
    again, _ = run_action(
        finance, DISCREPANCIES, "resolve_discrepancies", [discrepancy], note="twice"
    )

    discrepancy.refresh_from_db()
    assert discrepancy.resolved_by.username == "fiona.finance"
    assert discrepancy.resolved_at is not None
    assert discrepancy.resolution == "refunded"
    assert messages_of(again) == [f"{discrepancy}: refused: this discrepancy is already resolved"]


def test_a_resolution_needs_a_note(finance):
    discrepancy = Discrepancy.objects.create(channel="sandbox", kind="MISSING_HERE", details={})
    first = finance.post(
        DISCREPANCIES,
        {"action": "resolve_discrepancies", "index": "0", "_selected_action": [discrepancy.pk]},
    )
    page = finance.post(DISCREPANCIES, {**hidden_inputs(first.text), "note": ""})

    assert "This field is required" in page.text
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is None
