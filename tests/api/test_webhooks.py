"""Webhooks against a real local HTTP receiver: signed, retried, dead-lettered, never sent for
a rolled-back event, never sent twice for one attempt."""

from datetime import UTC

import pytest
from django.db import transaction
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind
from orders.models import Merchant
from payments.enums import DeliveryStatus, EventType
from payments.events import event_emit
from payments.models import Event, WebhookDelivery
from payments.tasks import webhook_deliver_due
from payments.webhooks.delivery import DeliveryRefused, webhook_delivery_replay
from payments.webhooks.signing import merchant_webhook_secret_rotate
from tests.api.receiver import verify_signature
from tests.helpers import race, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = Actor(ActorKind.ADMIN, "finance@example")


def emit(merchant, n: int = 1) -> list[Event]:
    with transaction.atomic():
        return [
            event_emit(
                merchant_id=merchant.pk, type=EventType.ORDER_CLOSED, payload={"order": f"o{i}"}
            )
            for i in range(n)
        ]


def statuses() -> set[str]:
    return set(WebhookDelivery.objects.values_list("status", flat=True))


def pump_until(predicate, timeout: float = 10):
    """What the pump does every second, here every few milliseconds, until predicate()."""
    return wait_for(lambda: webhook_deliver_due() is not None and predicate(), timeout)


def test_an_event_is_sent_right_after_commit_signed_with_the_documented_recipe(
    hooked_partner, receiver
):
    [event] = emit(hooked_partner.merchant)

    wait_for(lambda: statuses() == {DeliveryStatus.DELIVERED})

    [request] = receiver.received
    secret = Merchant.objects.get(pk=hooked_partner.merchant.pk).webhook_secret
    assert verify_signature(request.headers["Paycenter-Signature"], request.body, secret)
    assert not verify_signature(request.headers["Paycenter-Signature"], request.body, "whsec_x")
    assert not verify_signature(request.headers["Paycenter-Signature"], request.body + b" ", secret)
    assert request.event == {
        "id": event.id,
        "type": "order.closed",
        "created_at": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"order": "o0"},
    }
    assert request.headers["Paycenter-Event-Id"] == event.id
    assert request.headers["Content-Type"] == "application/json"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)


def test_a_receiver_down_for_the_first_attempts_gets_every_event_once_deduplicated(
    hooked_partner, receiver, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.05] * 20
    receiver.stop()  # down: connection refused
    events = emit(hooked_partner.merchant, 3)
    pump_until(lambda: min(WebhookDelivery.objects.values_list("attempts", flat=True)) >= 3)
    receiver.start()
    receiver.status = 503  # up, but failing: any non-2xx is a failure
    pump_until(lambda: len(receiver.unique_event_ids()) == 3)
    receiver.status = 200

    pump_until(lambda: statuses() == {DeliveryStatus.DELIVERED})

    ids = sorted(event.id for event in events)
    assert {r.event["id"] for r in receiver.received if r.answered == 503} == set(ids)
    # at least once on the wire; exactly once accepted, per event id
    assert sorted(r.event["id"] for r in receiver.received if r.answered == 200) == ids
    assert all(d.attempts >= 5 for d in WebhookDelivery.objects.all())


def test_a_receiver_never_up_dead_letters_the_delivery_after_the_schedule(
    hooked_partner, receiver, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.02, 0.05, 0.1]
    receiver.stop()
    emit(hooked_partner.merchant)

    pump_until(lambda: statuses() == {DeliveryStatus.DEAD})

    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 4  # one right after commit, then one per step of the schedule
    assert delivery.next_attempt_at is None
    assert "ConnectionError" in delivery.last_error
    assert webhook_deliver_due() == 0


def test_a_dead_delivery_can_be_replayed(hooked_partner, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    receiver.status = 500
    emit(hooked_partner.merchant)
    wait_for(lambda: statuses() == {DeliveryStatus.DEAD})
    receiver.status = 200
    delivery = WebhookDelivery.objects.get()

    webhook_delivery_replay(delivery_id=delivery.pk, actor=ADMIN)

    wait_for(lambda: statuses() == {DeliveryStatus.DELIVERED})
    delivery.refresh_from_db()
    assert delivery.replayed_by == "ADMIN:finance@example"
    assert len(receiver.unique_event_ids()) == 1
    with pytest.raises(DeliveryRefused):
        webhook_delivery_replay(delivery_id=delivery.pk, actor=ADMIN)


def test_an_event_in_a_rolled_back_transaction_is_never_sent(hooked_partner, receiver):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(hooked_partner.merchant)
        raise RuntimeError("the change it reported failed")

    assert webhook_deliver_due() == 0
    [committed] = emit(hooked_partner.merchant)  # a later event still goes out
    wait_for(lambda: statuses() == {DeliveryStatus.DELIVERED})
    assert Event.objects.count() == WebhookDelivery.objects.count() == 1
    assert receiver.unique_event_ids() == {committed.id}
    assert len(receiver.received) == 1


def test_concurrent_workers_never_send_the_same_attempt_twice(hooked_partner, receiver):
    receiver.stop()
    events = emit(hooked_partner.merchant, 20)
    wait_for(lambda: not WebhookDelivery.objects.filter(last_error="").exists())  # 1st failed
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # all due again, at once
    receiver.start()

    claimed = race(lambda _: webhook_deliver_due(), 6)
    pump_until(lambda: statuses() == {DeliveryStatus.DELIVERED})

    assert sum(claimed) == 20
    assert sorted(r.event["id"] for r in receiver.received) == sorted(e.id for e in events)
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {2}


def test_during_a_secret_rotation_both_secrets_sign(hooked_partner, receiver, settings):
    settings.WEBHOOK_SECRET_OVERLAP_SECONDS = 3600
    old_secret = hooked_partner.merchant.webhook_secret

    response = hooked_partner.post("/webhook-secret/rotate")
    emit(hooked_partner.merchant)
    wait_for(lambda: statuses() == {DeliveryStatus.DELIVERED})

    new_secret = response.json()["webhook_secret"]
    assert response.status_code == 200 and new_secret != old_secret
    [request] = receiver.received
    header = request.headers["Paycenter-Signature"]
    assert header.count("v1=") == 2
    assert verify_signature(header, request.body, new_secret)
    assert verify_signature(header, request.body, old_secret)


def test_after_the_overlap_only_the_new_secret_signs(hooked_partner, receiver, settings):
    settings.WEBHOOK_SECRET_OVERLAP_SECONDS = 0
    old_secret = hooked_partner.merchant.webhook_secret
    merchant = merchant_webhook_secret_rotate(merchant_id=hooked_partner.merchant.pk, actor=ADMIN)

    emit(hooked_partner.merchant)
    wait_for(lambda: statuses() == {DeliveryStatus.DELIVERED})

    [request] = receiver.received
    header = request.headers["Paycenter-Signature"]
    assert header.count("v1=") == 1
    assert verify_signature(header, request.body, merchant.webhook_secret)
    assert not verify_signature(header, request.body, old_secret)


def test_a_merchant_without_a_webhook_url_gets_no_deliveries(partner):
    emit(partner.merchant)

    assert WebhookDelivery.objects.count() == 0
