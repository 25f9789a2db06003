"""/healthz and /readyz: what a load balancer and an orchestrator read."""

import socket

import pytest
from django.db import connection
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


@pytest.fixture
def database_unreachable():
    """The default connection pointed at a port nobody listens on: a real failed connect."""
    connection.close()
    real_port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = str(closed_port())
    yield
    connection.close()
    connection.settings_dict["PORT"] = real_port


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


@pytest.mark.django_db(transaction=True)
def test_without_the_database_readyz_is_503_and_metrics_still_answer(client, database_unreachable):
    unready = client.get("/readyz")
    assert unready.status_code == 503
    assert (unready.json()["database"], unready.json()["redis"]) == (False, True)

    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert b"paycenter_database_up 0.0" in metrics.content
    assert b"paycenter_http_requests_total" in metrics.content  # the process counts are there
