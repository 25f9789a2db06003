"""One bad callback never blocks the inbox: an error while processing a stored callback is kept
on its row with a next try (back-off), the inbox job moves on to later rows, and after
NOTIFICATION_MAX_ATTEMPTS tries the row is dead-lettered (shown in the back office, replayable).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.enums import OrderStatus
from payments.enums import NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification
from payments.services.notifications import notification_receive, notifications_reprocess_stale
from tests.admin.conftest import client_for, messages_of, run_action, staff_user
from tests.admin.conftest import paying as paying_at_sandbox
from tests.conftest import TEST_SECRET
from tests.helpers import race, signed_notification

pytestmark = pytest.mark.django_db

BROKEN = "tests.channels.SandboxWithBrokenNotifications"
WORKING = "payments.channels.sandbox.SandboxChannel"
CALLBACKS = "/admin/payments/channelnotification/"


@pytest.fixture
def paying(merchant, sandbox):
    return paying_at_sandbox(merchant)


def channel_class(settings, code: str, dotted: str) -> None:
    channels = {name: dict(options) for name, options in settings.PAYMENT_CHANNELS.items()}
    channels[code]["class"] = dotted
    settings.PAYMENT_CHANNELS = channels  # a new dict: the adapter registry is rebuilt


def stored(payment, channel="sandbox") -> ChannelNotification:
    headers, body = signed_notification(payment, TEST_SECRET)
    return notification_receive(channel=channel, headers=headers, body=body, peer="127.0.0.1")


def test_a_non_ascii_signature_header_is_a_bad_signature_not_a_crash(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET)
    headers["X-Sandbox-Signature"] = "é" * 64

    response = client.post(
        "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    row = ChannelNotification.objects.get()
    assert (row.outcome, row.signature_valid) == (NotificationOutcome.REJECTED, False)


def test_a_nul_byte_in_a_header_is_stored_and_rejected(client, paying):
    headers, body = signed_notification(paying, TEST_SECRET)
    headers["X-Sandbox-Timestamp"] = "17\x0000"

    response = client.post(
        "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert ChannelNotification.objects.get().outcome == NotificationOutcome.REJECTED


def test_a_callback_whose_processing_fails_is_kept_and_answered_503(client, paying, settings):
    settings.NOTIFICATION_RETRY_SCHEDULE = [30, 60]
    channel_class(settings, "sandbox", BROKEN)
    headers, body = signed_notification(paying, TEST_SECRET)

    response = client.post(
        "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "processing_failed"
    row = ChannelNotification.objects.get()
    assert row.outcome == NotificationOutcome.RECEIVED
    assert row.attempts == 1
    assert "adapter bug" in row.last_error
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 25 < wait <= 30


def test_the_inbox_job_records_a_failing_row_and_moves_on_to_later_ones(
    merchant, sandbox, settings
):
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    settings.NOTIFICATION_RETRY_SCHEDULE = [60]
    channel_class(settings, "sandbox_card", BROKEN)
    first, second = paying_at_sandbox(merchant), paying_at_sandbox(merchant)
    failing = stored(first, channel="sandbox_card")  # the oldest row, and its adapter raises
    good = stored(second)

    assert notifications_reprocess_stale(now=timezone.now(), batch=10) == 2

    good.refresh_from_db()
    second.refresh_from_db()
    assert good.outcome == NotificationOutcome.APPLIED
    assert second.status == PaymentStatus.SUCCEEDED
    failing.refresh_from_db()
    assert (failing.outcome, failing.attempts) == (NotificationOutcome.RECEIVED, 1)
    assert failing.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # not due again yet: the next run leaves it alone
    assert notifications_reprocess_stale(now=timezone.now(), batch=10) == 0


def due_now(notification: ChannelNotification) -> None:
    ChannelNotification.objects.filter(pk=notification.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_after_the_last_try_a_failing_row_is_dead_lettered_and_replayable(
    merchant, sandbox, settings
):
    finance = client_for(staff_user("fiona.finance", "Finance"))
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    settings.NOTIFICATION_RETRY_SCHEDULE = [60]
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    channel_class(settings, "sandbox", BROKEN)
    payment = paying_at_sandbox(merchant)
    row = stored(payment)

    notifications_reprocess_stale(now=timezone.now(), batch=10)
    due_now(row)
    notifications_reprocess_stale(now=timezone.now(), batch=10)

    row.refresh_from_db()
    assert (row.outcome, row.attempts) == (NotificationOutcome.DEAD, 2)
    assert row.next_attempt_at is None
    due_now(row)
    assert notifications_reprocess_stale(now=timezone.now(), batch=10) == 0  # given up
    dashboard = {
        e.line.risk.key: e.line.count for e in finance.get("/admin/").context["money_at_risk"]
    }
    assert dashboard["callbacks_dead"] == 1
    listed = finance.get(CALLBACKS, {"outcome__exact": "DEAD"})
    assert listed.context["cl"].result_count == 1

    channel_class(settings, "sandbox", WORKING)  # the bug is fixed: replay it
    final, _ = run_action(finance, CALLBACKS, "reprocess_callbacks", [row])

    assert messages_of(final) == [f"{row}: was DEAD, now APPLIED"]
    row.refresh_from_db()
    payment.refresh_from_db()
    assert row.outcome == NotificationOutcome.APPLIED
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.order.status == OrderStatus.PAID


def test_a_body_over_the_upload_limit_is_stored_and_rejected(client, paying, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    headers, _ = signed_notification(paying, TEST_SECRET)

    response = client.post(
        "/callbacks/sandbox/", data=b"x" * 2_000, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_large"
    row = ChannelNotification.objects.get()
    assert (row.outcome, row.error_code) == (NotificationOutcome.REJECTED, "too_large")
    assert row.headers["X-Sandbox-Nonce"] == headers["X-Sandbox-Nonce"]


@pytest.mark.django_db(transaction=True)
def test_two_inbox_jobs_at_once_try_a_failing_row_once_and_apply_the_rest(
    merchant, sandbox, settings
):
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    settings.NOTIFICATION_RETRY_SCHEDULE = [60]
    channel_class(settings, "sandbox_card", BROKEN)
    payments = [paying_at_sandbox(merchant) for _ in range(4)]
    failing = stored(payments[0], channel="sandbox_card")
    good = [stored(payment) for payment in payments[1:]]

    done = race(lambda _: notifications_reprocess_stale(now=timezone.now(), batch=10), 2)

    assert sum(done) == 4  # each row claimed by exactly one job
    failing.refresh_from_db()
    assert (failing.outcome, failing.attempts) == (NotificationOutcome.RECEIVED, 1)
    assert (
        ChannelNotification.objects.filter(
            pk__in=[row.pk for row in good], outcome=NotificationOutcome.APPLIED
        ).count()
        == 3
    )
