"""Partner API fixtures: merchants with API keys, authenticated clients, a webhook receiver."""

import io
import json
import logging
import threading

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from rest_framework.test import APIClient
from structlog.stdlib import ProcessorFormatter

from orders.services import merchant_create
from tests.api.receiver import Receiver


class Partner:
    """A merchant as a partner system sees it: its API key and an HTTP client using it."""

    def __init__(self, name: str, webhook_url: str = ""):
        created = merchant_create(name=name, webhook_url=webhook_url)
        self.merchant = created.merchant
        self.api_key = created.api_key
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.api_key}")

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"}

    def post(self, path: str, data=None, **headers):
        return self.client.post(f"/api/v1{path}", data, format="json", headers=headers)

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params)

    def create_order(self, **fields) -> dict:
        body = {
            "merchant_order_no": "mo-1",
            "amount": 1999,
            "currency": "CNY",
            "subject": "Tea",
        } | fields
        response = self.post("/orders", body)
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture(autouse=True)
def api_rate_limit_per_test(settings, request):
    """A fresh rate-limit window per test (counts are kept in the shared Redis)."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "KEY_PREFIX": f"test-api-{request.node.nodeid}",
        }
    }


@pytest.fixture
def partner(db) -> Partner:
    return Partner("Partner A")


@pytest.fixture
def other_partner(db) -> Partner:
    return Partner("Partner B")


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hooked_partner(transactional_db, receiver) -> Partner:
    """A partner whose webhook URL is the local receiver."""
    return Partner("Hooked partner", webhook_url=receiver.url)


class RoomyServer(ThreadedWSGIServer):
    # Django's live server queues 10 connections; a 30-client race needs more room.
    request_queue_size = 64


@pytest.fixture
def api_server(transactional_db):
    """The whole application behind a real threaded HTTP server (the base URL)."""
    server = RoomyServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def log_output():
    """Every log line written during the test, rendered by the handler settings.LOGGING
    configured (the one production writes to), at every level."""
    root = logging.getLogger()
    [configured] = [h for h in root.handlers if isinstance(h.formatter, ProcessorFormatter)]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured.formatter)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(output: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in output.getvalue().splitlines()]
