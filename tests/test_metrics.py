"""/metrics: who may read it, and every figure moves when the thing it counts happens."""

import os
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.utils import timezone
from django_q.models import OrmQ
from prometheus_client.parser import text_string_to_metric_families

from config.liveness import heartbeat_advance
from config.metrics import process_counts_clear
from payments.enums import DeliveryStatus
from payments.models import Payment, WebhookDelivery
from payments.queue import enqueue
from payments.services.checks import payment_check_now
from payments.services.discrepancies import discrepancy_record
from tests.conftest import API, TEST_SECRET
from tests.factories import make_order, paid_payment, paying_attempt, refund_of, start_payment
from tests.helpers import signed_notification

pytestmark = pytest.mark.django_db

REMOTE = "203.0.113.9"


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, keyed by (name, labels)."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0)


def moved(client, action, name: str, **labels) -> float:
    """How far the sample moved while ``action`` ran."""
    before = value(scrape(client), name, **labels)
    action()
    return value(scrape(client), name, **labels) - before


# --- who may read it ---------------------------------------------------------------------------


def test_without_a_token_only_loopback_clients_may_read(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR=REMOTE).status_code == 403
    assert client.post("/metrics").status_code == 405


def test_with_a_token_every_client_needs_it(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401  # loopback too
    wrong = client.get("/metrics", REMOTE_ADDR=REMOTE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    right = client.get(
        "/metrics", REMOTE_ADDR=REMOTE, headers={"Authorization": "Bearer s3cret-token"}
    )
    assert right.status_code == 200
    assert b"paycenter_database_up 1.0" in right.content


# --- events, counted by every process ----------------------------------------------------------


def test_requests_are_counted_by_route_and_status(client):
    def two_health_checks_and_a_stray():
        client.get("/healthz")
        client.get("/healthz")
        client.get("/no/such/page/123")

    name = "paycenter_http_requests_total"
    assert (
        moved(
            client, two_health_checks_and_a_stray, name, route="healthz", method="GET", status="200"
        )
        == 2
    )
    assert value(scrape(client), name, route="unmatched", method="GET", status="404") >= 1
    assert not any("123" in dict(labels).get("route", "") for _, labels in scrape(client))


def test_requests_served_over_asgi_are_counted_too(client):
    def over_asgi():
        async_to_sync(AsyncClient().get)("/healthz")

    name = "paycenter_http_requests_total"
    assert moved(client, over_asgi, name, route="healthz", method="GET", status="200") == 1


def test_channel_calls_are_counted_and_timed_by_operation_and_outcome(client, merchant, sandbox):
    calls = "paycenter_channel_calls_total"
    payment = None

    def start():
        nonlocal payment
        payment = start_payment(make_order(merchant))

    assert (
        moved(client, start, calls, channel="sandbox", operation="create_trade", outcome="ok") == 1
    )

    def check():
        payment_check_now(payment_id=payment.pk, actor=API)

    assert (
        moved(client, check, calls, channel="sandbox", operation="query_trade", outcome="PAYING")
        == 1
    )
    timed = "paycenter_channel_call_duration_seconds_count"
    assert moved(client, check, timed, channel="sandbox", operation="query_trade") == 1

    sandbox.set_faults({"api_error_rate": {"query": 1}})
    failed = [
        outcome
        for outcome in ("unavailable", "refused", "UNKNOWN")
        if moved(client, check, calls, channel="sandbox", operation="query_trade", outcome=outcome)
    ]
    assert len(failed) == 1


def test_callbacks_are_counted_by_channel_and_verdict(client, merchant, sandbox):
    payment = start_payment(make_order(merchant))
    headers, body = signed_notification(payment, TEST_SECRET)
    counted = "paycenter_callbacks_received_total"

    def post(headers):
        return lambda: client.post(
            "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
        )

    forged = {**headers, "X-Sandbox-Signature": "0" * 64}
    assert moved(client, post(forged), counted, channel="sandbox", verdict="bad_signature") == 1
    assert moved(client, post(headers), counted, channel="sandbox", verdict="accepted") == 1

    def to_a_channel_we_do_not_have():
        client.post("/callbacks/nosuch9/", data=body, content_type="application/json")

    assert (
        moved(
            client,
            to_a_channel_we_do_not_have,
            counted,
            channel="unknown",
            verdict="unknown_channel",
        )
        == 1
    )


def test_a_callback_from_a_throttled_address_is_counted_throttled(
    client, merchant, sandbox, settings
):
    settings.AUTH_FAILURE_LIMIT = 1
    payment = start_payment(make_order(merchant))
    headers, body = signed_notification(payment, "a guessed secret")

    def guess_twice():
        for _ in range(2):  # the first is judged, the second is not
            client.post(
                "/callbacks/sandbox/",
                data=body,
                content_type="application/json",
                headers=headers,
                REMOTE_ADDR="198.51.100.77",
            )

    counted = "paycenter_callbacks_received_total"
    assert moved(client, guess_twice, counted, channel="sandbox", verdict="throttled") == 1


# --- the books, read from the database at each scrape ------------------------------------------


def test_open_and_stuck_payments_by_channel_and_age(client, merchant, settings):
    labels = {"channel": "sandbox", "age": "1h-1d"}

    def a_payment_paying_for_two_hours():
        payment = paying_attempt(make_order(merchant))
        Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=2))

    settings.STUCK_PAYMENT_AFTER_SECONDS = 3600
    before = scrape(client)
    a_payment_paying_for_two_hours()
    after = scrape(client)
    for name in ("paycenter_payments_open", "paycenter_payments_stuck"):
        assert value(after, name, **labels) - value(before, name, **labels) == 1


def test_the_oldest_due_check_lag(client, merchant):
    payment = paying_attempt(make_order(merchant))
    Payment.objects.filter(pk=payment.pk).update(
        next_check_at=timezone.now() - timedelta(minutes=5)
    )
    assert value(scrape(client), "paycenter_payment_checks_oldest_due_lag_seconds") >= 300


def test_refunds_not_done_and_their_money_and_the_money_at_risk(client, merchant, sandbox):
    payment = paid_payment(merchant, sandbox, amount=1000)
    before = scrape(client)
    refund_of(payment, 400)  # requested: PENDING until executed
    after = scrape(client)
    assert (
        value(after, "paycenter_refunds", status="PENDING")
        - value(before, "paycenter_refunds", status="PENDING")
        == 1
    )
    money = {"status": "PENDING", "currency": "CNY"}
    assert (
        value(after, "paycenter_refunds_amount_minor", **money)
        - value(before, "paycenter_refunds_amount_minor", **money)
        == 400
    )
    risk = {"risk": "refunds_pending", "currency": "CNY"}
    assert (
        value(after, "paycenter_money_at_risk_minor", **risk)
        - value(before, "paycenter_money_at_risk_minor", **risk)
        == 400
    )
    rows = {"risk": "refunds_pending", "at_risk": "true"}
    assert (
        value(after, "paycenter_risk_rows", **rows) - value(before, "paycenter_risk_rows", **rows)
        == 1
    )


def test_webhook_deliveries_pending_and_dead_and_the_oldest_age(client, merchant, sandbox):
    merchant.webhook_url = "http://127.0.0.1:9/hooks"
    merchant.save()
    before = scrape(client)
    paid_payment(merchant, sandbox)  # order.paid: one delivery to the merchant
    delivery = WebhookDelivery.objects.latest("pk")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD, created_at=timezone.now() - timedelta(hours=1)
    )
    after = scrape(client)
    assert (
        value(after, "paycenter_webhook_deliveries", status="DEAD")
        - value(before, "paycenter_webhook_deliveries", status="DEAD")
        == 1
    )
    assert value(after, "paycenter_webhook_deliveries_oldest_age_seconds", status="DEAD") >= 3600


def test_open_discrepancies_by_kind(client, merchant):
    def found():
        discrepancy_record(channel="sandbox", kind="MISSING_HERE", out_trade_no="X1", details={})

    assert moved(client, found, "paycenter_discrepancies_open", kind="MISSING_HERE") == 1


def test_the_q2_queue_depth_and_the_clusters_last_tick(client):
    def queued():
        enqueue("payments.tasks.webhook_deliver_due")

    assert moved(client, queued, "paycenter_q2_queue_depth") == 1
    assert OrmQ.objects.exists()

    ticked = timezone.now()
    heartbeat_advance(now=ticked, name="cluster-under-test")
    beat = value(
        scrape(client), "paycenter_jobs_last_tick_timestamp_seconds", cluster="cluster-under-test"
    )
    assert beat == pytest.approx(ticked.timestamp(), abs=0.001)


# --- the count files ---------------------------------------------------------------------------


def test_a_dead_process_count_file_is_cleared_and_a_live_one_kept(settings):
    directory = settings.PROMETHEUS_MULTIPROC_DIR
    gone = directory / "counter_999999999.db"  # above any pid the kernel hands out
    gone.write_bytes(b"")
    mine = directory / f"counter_{os.getpid()}.db"
    mine_existed = mine.exists()
    mine.touch()
    process_counts_clear()
    assert not gone.exists()
    assert mine.exists()
    if not mine_existed:
        mine.unlink()
