"""Retention: each purge deletes only what is past its lifetime and allowed to go; money rows,
their audit and unresolved discrepancies survive every purge, however old."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_q.models import Schedule

from config.schedules import sync_schedules
from orders.models import Order, StatusChange
from payments import tasks
from payments.enums import DeliveryStatus, EventType, NotificationOutcome, PaymentStatus
from payments.events import event_emit
from payments.models import (
    ChannelNotification,
    ChannelTransaction,
    Discrepancy,
    Event,
    IdempotencyKey,
    Payment,
    PaymentCheck,
    Refund,
    WebhookDelivery,
)
from payments.services import retention
from payments.services.retention import RETENTION, retention_purge, retention_purge_all
from tests.factories import make_order, paid_payment, refund_of

pytestmark = pytest.mark.django_db

HOUR = 3600
LIFETIMES = [
    "PAYMENT_CHECK_RETENTION_SECONDS",
    "NOTIFICATION_RETENTION_SECONDS",
    "WEBHOOK_ATTEMPT_RETENTION_SECONDS",
    "ADMIN_LOG_RETENTION_SECONDS",
    "IDEMPOTENCY_KEY_RETENTION_SECONDS",
]


@pytest.fixture(autouse=True)
def one_hour_lifetimes(settings):
    for name in LIFETIMES:
        setattr(settings, name, HOUR)


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def a_payment(merchant, status=PaymentStatus.CLOSED, **fields) -> Payment:
    order = make_order(merchant)
    return Payment.objects.create(
        order=order, channel="sandbox", amount=order.amount, currency="CNY", status=status, **fields
    )


def a_check(merchant, at, **payment_fields) -> PaymentCheck:
    return PaymentCheck.objects.create(
        payment=a_payment(merchant, **payment_fields),
        actor_kind="SYSTEM",
        answer="CLOSED",
        outcome="CLOSED",
        asked_at=at,
    )


def a_notification(merchant, at, outcome=NotificationOutcome.APPLIED) -> ChannelNotification:
    return ChannelNotification.objects.create(
        channel="sandbox", body=b"{}", outcome=outcome, processed_at=at
    )


def a_delivery(merchant, at, status=DeliveryStatus.DELIVERED) -> WebhookDelivery:
    with transaction.atomic():
        event = event_emit(merchant_id=merchant.pk, type=EventType.ORDER_CLOSED, payload={})
    return WebhookDelivery.objects.create(
        event=event,
        endpoint_url=f"https://partner.example/{event.pk}",
        status=status,
        delivered_at=at,
    )


def a_log_entry(merchant, at) -> LogEntry:
    user, _ = User.objects.get_or_create(username="finance")
    return LogEntry.objects.create(user=user, action_time=at, object_repr="x", action_flag=ADDITION)


def an_idempotency_key(merchant, at) -> IdempotencyKey:
    key = IdempotencyKey.objects.create(
        merchant=merchant, key=f"k-{at.timestamp()}", request_fingerprint="f"
    )
    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=at)
    return key


MAKERS = {
    "payment_checks": a_check,
    "notifications": a_notification,
    "webhook_attempts": a_delivery,
    "admin_log": a_log_entry,
    "idempotency_keys": an_idempotency_key,
}


def test_every_kind_of_record_has_a_lifetime_and_a_test():
    assert set(MAKERS) == set(RETENTION)


@pytest.mark.parametrize("kind", MAKERS)
def test_a_purge_deletes_what_is_past_its_lifetime_and_keeps_the_rest(merchant, kind):
    # given a row just past its lifetime and one just within it
    old = MAKERS[kind](merchant, ago(HOUR + 60))
    new = MAKERS[kind](merchant, ago(HOUR - 60))
    model = type(old)

    # when the purge runs
    deleted = retention_purge(kind=kind, now=timezone.now())

    # then only the old one went
    assert deleted == 1
    assert list(model.objects.values_list("pk", flat=True)) == [new.pk]
    assert retention_purge(kind=kind, now=timezone.now()) == 0


@pytest.mark.parametrize(
    "kind, still_needed",
    [
        ("payment_checks", {"status": PaymentStatus.PAYING}),  # an open payment's timeline
        ("payment_checks", {"status": PaymentStatus.UNPAID}),
        ("payment_checks", {"status": PaymentStatus.SUCCEEDED, "needs_attention": True}),
        ("notifications", {"outcome": NotificationOutcome.RECEIVED}),  # still to process
        ("notifications", {"outcome": NotificationOutcome.DEAD}),  # waits to be replayed
        ("webhook_attempts", {"status": DeliveryStatus.PENDING}),  # still to send
        ("webhook_attempts", {"status": DeliveryStatus.DEAD}),  # waits to be replayed
    ],
)
def test_what_is_still_needed_is_kept_however_old(merchant, kind, still_needed):
    row = MAKERS[kind](merchant, ago(100 * HOUR), **still_needed)

    assert retention_purge(kind=kind, now=timezone.now() + timedelta(days=3650)) == 0
    assert type(row).objects.filter(pk=row.pk).exists()


def test_a_processed_callback_is_kept_while_its_nonce_still_refuses_a_replay(merchant, settings):
    settings.NOTIFICATION_RETENTION_SECONDS = 0
    settings.CALLBACK_TOLERANCE_SECONDS = 300
    recent = a_notification(merchant, ago(500))  # past its lifetime, within twice the tolerance
    old = a_notification(merchant, ago(700))

    assert retention_purge(kind="notifications", now=timezone.now()) == 1
    assert list(ChannelNotification.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ChannelNotification.objects.filter(pk=old.pk).exists()


def test_money_its_audit_and_unresolved_discrepancies_survive_every_purge(
    merchant, sandbox, settings
):
    # given a paid order, a refund, an unresolved and a resolved discrepancy, all ancient
    payment = paid_payment(merchant, sandbox)
    refund_of(payment, 100)
    Discrepancy.objects.create(channel="sandbox", kind="AMOUNT_MISMATCH", payment=payment)
    Discrepancy.objects.create(
        channel="sandbox", kind="MISSING_HERE", resolved_at=timezone.now(), resolution="done"
    )
    money = [Order, Payment, ChannelTransaction, Refund, StatusChange, Event, Discrepancy]
    before = {model.__name__: model.objects.count() for model in money}
    assert all(before.values())
    assert PaymentCheck.objects.filter(payment=payment).exists()

    # when every purge runs ten years later
    deleted = retention_purge_all(now=timezone.now() + timedelta(days=3650))

    # then the records with a lifetime went, and nothing of money did
    assert deleted["payment_checks"] >= 1
    assert not PaymentCheck.objects.filter(payment=payment).exists()
    assert {model.__name__: model.objects.count() for model in money} == before


def test_the_database_refuses_to_delete_a_payment_or_an_order_that_others_point_at(
    merchant, sandbox
):
    payment = paid_payment(merchant, sandbox)
    for table, pk in (
        (Payment._meta.db_table, payment.pk),
        (Order._meta.db_table, payment.order_id),
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_a_backlog_is_deleted_in_bounded_batches_over_several_runs(merchant, monkeypatch):
    monkeypatch.setattr(retention, "MAX_BATCHES", 2)
    for n in range(5):
        a_notification(merchant, ago(HOUR + 60 + n))

    assert retention_purge(kind="notifications", now=timezone.now(), batch=2) == 4
    assert retention_purge(kind="notifications", now=timezone.now(), batch=2) == 1
    assert not ChannelNotification.objects.exists()


def test_the_hourly_schedule_runs_every_purge():
    sync_schedules()

    schedule = Schedule.objects.get(name="purge-expired-records")
    assert (schedule.func, schedule.schedule_type) == ("payments.tasks.retention_purge", "H")
    assert set(tasks.retention_purge()) == set(RETENTION)
