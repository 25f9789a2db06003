"""/healthz and /readyz: what a load balancer and an orchestrator read."""

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from config.liveness import heartbeat_advance
from payments.services.checks import payment_check_now
from tests.conftest import API
from tests.factories import make_order, start_payment

pytestmark = pytest.mark.django_db


def test_healthz_says_the_process_answers(client):
    answer = client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_readyz_reports_database_migrations_redis_jobs_and_each_channel(client, merchant, sandbox):
    heartbeat_advance(now=timezone.now())
    payment = start_payment(make_order(merchant))
    payment_check_now(payment_id=payment.pk, actor=API)

    ready = client.get("/readyz")

    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"], body["migrated"], body["redis"]) == (
        "ok",
        True,
        True,
        True,
    )
    assert body["jobs"]["alive"] is True
    assert set(body["channels"]) == {"sandbox", "sandbox_card"}
    last = body["channels"]["sandbox"]
    assert (last["operation"], last["outcome"]) == ("query_trade", "PAYING")


def test_readyz_stays_ready_without_redis_and_says_so(client, settings):
    heartbeat_advance(now=timezone.now())
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "unix:///nonexistent/redis.sock"}
    }
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["redis"] is False


def test_readyz_is_not_ready_while_a_migration_is_unapplied(client):
    heartbeat_advance(now=timezone.now())
    latest = MigrationRecorder.Migration.objects.filter(app="payments").latest("applied")
    latest.delete()  # as if this code's last payments migration had not run (rolled back)

    unready = client.get("/readyz")

    assert unready.status_code == 503
    assert (unready.json()["database"], unready.json()["migrated"]) == (True, False)
