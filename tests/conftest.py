"""Shared fixtures: real PostgreSQL and Redis (embedded or from the env), a real sandbox process."""

import contextlib
import signal
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from alipay_emulator.runner import EmulatorProcess as AlipayEmulatorProcess
from config import embedded
from orders.api_keys import api_keys_forget
from orders.audit import Actor
from orders.enums import ActorKind
from orders.services import merchant_create
from payments.auth_failures import local_counts
from payments.queue import jobs_backlog_forget
from sandbox_channel.runner import SandboxProcess
from tests.factories import make_order
from tests.paying_channels import CHANNELS, paying_channel_named
from wechatpay_emulator.runner import EmulatorProcess

TEST_SECRET = "test-sandbox-secret"
API = Actor(ActorKind.PARTNER_API, "tests")


def pytest_sessionfinish(session, exitstatus):
    # The embedded PostgreSQL stops with its last handle; Redis is a daemon we stop ourselves.
    if embedded.redis_started_here(django_settings.VAR_DIR):
        embedded.stop_redis(django_settings.VAR_DIR)


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory):
    with SandboxProcess(
        tmp_path_factory.mktemp("sandbox"),
        secret=TEST_SECRET,
        notify_schedule=(0, 0.3, 0.6, 1),
    ) as process:
        yield process


@pytest.fixture(scope="session")
def wechatpay_process(tmp_path_factory):
    """The WeChat Pay emulator; adapters read its keys from its manifest."""
    with EmulatorProcess(
        tmp_path_factory.mktemp("wechatpay"), notify_schedule=(0, 0.3, 0.6, 1)
    ) as process:
        yield process


@pytest.fixture(scope="session")
def alipay_process(tmp_path_factory):
    with AlipayEmulatorProcess(
        tmp_path_factory.mktemp("alipay"), notify_schedule=(0, 0.3, 0.6, 1), bill_url_ttl=5
    ) as process:
        yield process


def alipay_channel(process, **options) -> dict:
    """The `alipay` entry of PAYMENT_CHANNELS for an emulator process. Refund calls are not
    spaced unless a test says so (the shared emulator does not ask for it either)."""
    return {
        "class": "payments.channels.alipay.AlipayChannel",
        "label": "Alipay",
        "gateway_url": process.gateway_url,
        "manifest_file": str(process.data_dir / "keys" / "manifest.json"),
        "timeout": 2,
        "refund_call_spacing_seconds": 0,
        **options,
    }


def wechatpay_channel(process, **options) -> dict:
    """The `wechatpay` entry of PAYMENT_CHANNELS for an emulator process (keys from its
    manifest)."""
    return {
        "class": "payments.channels.wechatpay.WechatpayChannel",
        "label": "WeChat Pay",
        "base_url": process.url,
        "manifest_file": str(process.data_dir / "keys" / "manifest.json"),
        "timeout": 2,
        **options,
    }


def _beside_the_sandbox(settings, process, code: str, entry: dict):
    """Registers an emulator as channel ``code`` beside the sandbox's channels; faults reset."""
    settings.PAYMENT_CHANNELS = {**settings.PAYMENT_CHANNELS, code: entry}
    process.reset_faults()
    yield process
    process.reset_faults()


@pytest.fixture
def alipay(alipay_process, sandbox, settings):
    """The Alipay emulator registered as channel `alipay`."""
    yield from _beside_the_sandbox(
        settings, alipay_process, "alipay", alipay_channel(alipay_process)
    )


@pytest.fixture
def wechatpay(wechatpay_process, sandbox, settings):
    """The WeChat Pay emulator registered as channel `wechatpay`, its keys read from its
    manifest."""
    yield from _beside_the_sandbox(
        settings, wechatpay_process, "wechatpay", wechatpay_channel(wechatpay_process)
    )


@pytest.fixture(params=CHANNELS)
def paying_channel(request, sandbox):
    """Runs the test once per channel: the sandbox, WeChat Pay and Alipay (their emulators)."""
    return paying_channel_named(request, request.param)


@pytest.fixture
def paying_channels(request, sandbox):
    """``paying_channels(*codes)``: several channels registered at once, in that order."""
    return lambda *codes: [paying_channel_named(request, code) for code in codes]


@pytest.fixture
def sandbox(sandbox_process, settings):
    """The sandbox process, registered as channels `sandbox` and `sandbox_card`; faults reset."""
    settings.PAYMENT_CHANNELS = {
        code: {
            "class": "payments.channels.sandbox.SandboxChannel",
            "label": code,
            "base_url": sandbox_process.url,
            "secret": TEST_SECRET,
            "timeout": 2,
        }
        for code in ("sandbox", "sandbox_card")
    }
    sandbox_process.reset_faults()
    yield sandbox_process
    sandbox_process.reset_faults()


@pytest.fixture
def card_cannot_close(sandbox, settings):
    """`sandbox_card` as a channel that cannot close a trade (some real ones can't)."""
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox_card": {
            **settings.PAYMENT_CHANNELS["sandbox_card"],
            "class": "tests.channels.SandboxWithoutClose",
        },
    }


@pytest.fixture(autouse=True)
def callbacks_go_nowhere(settings):
    """Unless a test asks for callbacks (callbacks_to), channels call back a closed port, never
    a developer's `make run` on :8000."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"


@pytest.fixture
def callbacks_to(settings, live_server):
    """Channels call back the live test server (a real HTTP server on the test database)."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server


@pytest.fixture(autouse=True)
def webhooks_to_local_receivers(settings):
    """The suite's webhook receivers listen on http://127.0.0.1, as in local development; the
    production rule (https, public addresses only) has its own tests."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture(autouse=True)
def reads_repair_at_once(settings):
    """The suite's reads ask the channel about an attempt as soon as it is made (by default a
    read waits READ_REPAIR_AFTER_SECONDS for the callback: tests/api/test_read_repair.py)."""
    settings.READ_REPAIR_AFTER_SECONDS = 0


@pytest.fixture(autouse=True)
def api_keys_forgotten():
    """Merchants are made anew per test, some with the same (demo) key: no test may authenticate
    as the previous test's merchant."""
    api_keys_forget()


@pytest.fixture(autouse=True)
def jobs_backlog_counted_afresh():
    """A queue counted short by the previous test's request must not hide this test's backlog."""
    jobs_backlog_forget()


@pytest.fixture(autouse=True)
def auth_failures_forgotten():
    """Every test's client is 127.0.0.1: wrong keys and bad signatures one test sends must not
    throttle the next one (the counts live in the shared Redis and in this process)."""
    local_counts.clear()
    with contextlib.suppress(RedisError):
        redis = get_redis_connection("default")
        for key in redis.scan_iter(match="*auth-failures:*"):
            redis.delete(key)


class OwnRedis:
    """A real Redis server of the test's own, which the test can stop (an outage) and start."""

    def __init__(self, directory):
        self.directory = directory
        self.url = ""

    def start(self) -> None:
        self.url = embedded.redis_url(self.directory)

    def stop(self) -> None:
        """An outage: the server dies at once, as in a crash."""
        embedded.stop_redis(self.directory, signal.SIGKILL)


@pytest.fixture
def redis_server(tmp_path, settings):
    server = OwnRedis(tmp_path)
    server.start()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    yield server
    server.stop()


@pytest.fixture
def merchant(db):
    return merchant_create(name="Test merchant").merchant


@pytest.fixture
def order(merchant):
    return make_order(merchant)


def soon(seconds: float = 0) -> object:
    return timezone.now() + timedelta(seconds=seconds)
