"""Outages as real processes: the web server (gunicorn) reaches PostgreSQL through a proxy the
test shuts, mid-request or between requests. Every door answers a retryable 503 in its own
language, never a 500; nothing half-written is left; the same Idempotency-Key then completes
or replays the request."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection

from orders.models import Order
from payments.models import ChannelNotification, IdempotencyKey
from tests.api.conftest import Partner
from tests.db_proxy import RECOVERING, DatabaseProxy
from tests.factories import make_order
from tests.helpers import wait_for
from tests.system import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
ORDER = {"merchant_order_no": "out-1", "amount": 1999, "currency": "CNY", "subject": "Tea"}


class WebServer:
    """gunicorn serving the project, its database behind ``proxy``."""

    def __init__(self, directory: Path, proxy: DatabaseProxy, redis_url: str):
        name = connection.settings_dict["NAME"]
        user = connection.settings_dict["USER"] or "postgres"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = directory / "web.log"
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{user}@127.0.0.1:{proxy.port}/{name}"
            "?sslmode=disable&gssencmode=disable&connect_timeout=2",
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"outage-{os.getpid()}",
            "SECRET_KEY": "outage-test-secret",
            "PAYCENTER_VAR_DIR": str(directory / "var"),
            "PYTHONUNBUFFERED": "1",
        }
        bind = self.url.removeprefix("http://")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", bind, "--threads", "2"],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, 60, what=f"gunicorn up ({self.log})")

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/v1/", timeout=2).status_code == 404
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def proxy():
    proxy = DatabaseProxy.for_django(connection.settings_dict)
    yield proxy
    proxy.close()


@pytest.fixture
def web(transactional_db, proxy, tmp_path, settings):
    server = WebServer(tmp_path, proxy, settings.CACHES["default"]["LOCATION"])
    yield server
    proxy.reopen()  # let the server's last connections end before the test database goes
    server.stop()


@pytest.fixture
def partner(transactional_db) -> Partner:
    return Partner("Outage partner")


def create_order(web, partner, key: str) -> requests.Response:
    headers = partner.auth | {"Idempotency-Key": key}
    return requests.post(f"{web.url}/api/v1/orders", json=ORDER, headers=headers, timeout=30)


def assert_retryable_json(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_the_database_lost_mid_insert_is_a_503_and_the_same_key_then_completes(web, proxy, partner):
    # given the connection to PostgreSQL is cut as the order's INSERT is sent
    proxy.cut_when_sent(b'INSERT INTO "orders_order"', deliver=False)

    # when the partner creates an order
    lost = create_order(web, partner, "k-insert")

    # then a retryable JSON 503, and nothing half-written: neither the order nor the key
    assert_retryable_json(lost)
    proxy.reopen()
    assert (Order.objects.count(), IdempotencyKey.objects.count()) == (0, 0)
    retried = create_order(web, partner, "k-insert")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert Order.objects.count() == 1


def test_the_database_lost_after_the_commit_is_a_503_and_the_same_key_then_replays(
    web, proxy, partner
):
    # given PostgreSQL receives the COMMIT, and then the connection is gone (answer lost)
    proxy.cut_when_sent(b"COMMIT\0", deliver=True)

    lost = create_order(web, partner, "k-commit")

    # then a 503 although the order exists: the retry replays it, and makes no second one
    assert_retryable_json(lost)
    proxy.reopen()
    replayed = create_order(web, partner, "k-commit")
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == Order.objects.get().pk


@pytest.mark.parametrize("state", ["down", RECOVERING])
def test_every_door_answers_an_unreachable_database_with_a_retryable_503(
    web, proxy, partner, state
):
    order = make_order(partner.merchant)
    proxy.shut(state)

    api = requests.get(f"{web.url}/api/v1/orders/{order.pk}", headers=partner.auth, timeout=30)
    page = requests.get(f"{web.url}/checkout/{order.pk}/", timeout=30)
    callbacks = {
        channel: requests.post(f"{web.url}/callbacks/{channel}/", data=b"{}", timeout=30)
        for channel in ("sandbox", "wechatpay", "alipay")
    }

    assert_retryable_json(api)
    assert page.status_code == 503
    assert "try again in a moment" in page.text.lower()
    assert int(page.headers["Retry-After"]) > 0
    # each channel's refusal dialect; none of them its success answer, so the channel retries
    assert callbacks["sandbox"].json()["error"]["code"] == "service_unavailable"
    assert callbacks["wechatpay"].json()["code"] == "FAIL"
    assert callbacks["alipay"].text.startswith("fail")
    assert {answer.status_code for answer in callbacks.values()} == {503}
    proxy.reopen()
    assert ChannelNotification.objects.count() == 0
