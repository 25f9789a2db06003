"""Browser tests: Playwright drives Debian's chromium (headless) against the app served under
ASGI by uvicorn in this process (on the test database, so the tests' settings apply, as with
pytest-django's live_server) and the real sandbox channel process."""

import socket
import threading

import pytest
import uvicorn
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from playwright.sync_api import expect, sync_playwright

from config.asgi import application
from tests.browser.helpers import DESKTOP, Shop
from tests.chromium import launch_chromium
from tests.helpers import wait_for

LABELS = {"sandbox": "Sandbox wallet", "sandbox_card": "Sandbox card"}


@pytest.fixture(scope="package")
def browser():
    expect.set_options(timeout=10_000)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API runs an event loop in this thread, so Django would take every
        # ORM call made by the tests themselves for one made inside async code, and refuse it.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class AsgiServer:
    """config.asgi under uvicorn, in a thread of this process: `make run` serves it the same way."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            application, lifespan="off", log_level="warning", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> "AsgiServer":
        self._thread.start()
        wait_for(lambda: self._server.started, timeout=10)
        return self

    def wait_idle(self) -> None:
        """Until no request is being served: a status read still in flight from a page that
        was just closed holds row locks that the next test's database flush would deadlock on."""
        state = self._server.server_state
        wait_for(lambda: not state.tasks and not state.connections, timeout=15, what="idle server")

    def __exit__(self, *exc_info) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture(scope="package")
def asgi_server(django_db_setup):
    # As config/asgi.py does for a uvicorn process (which loads its settings itself): requests
    # keep no connection, else each would leave one open. Settings were loaded before
    # config.asgi was imported here; new connections read this very dict.
    database = connections.settings[DEFAULT_DB_ALIAS]
    kept, database["CONN_MAX_AGE"] = database["CONN_MAX_AGE"], 0
    with AsgiServer() as server:
        yield server
    database["CONN_MAX_AGE"] = kept


@pytest.fixture
def new_context(browser, asgi_server):
    """Opens browser contexts (each its own cookies: one customer), closed after the test,
    and then waits until the server has finished every request they made."""
    contexts = []

    def open_context(**options):
        context = browser.new_context(**{"viewport": DESKTOP, **options})
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    asgi_server.wait_idle()


@pytest.fixture
def shop(transactional_db, sandbox, settings, asgi_server) -> Shop:
    """The demo shop under ASGI with the sandbox channels, and timers shrunk for tests."""
    call_command("seed_demo", verbosity=0)
    settings.PAYMENT_CHANNELS = {
        code: {**options, "label": LABELS[code]}
        for code, options in settings.PAYMENT_CHANNELS.items()
    }
    settings.PUBLIC_BASE_URL = asgi_server.url  # callbacks and the return page come here
    settings.CHECKOUT_POLL_SECONDS = 0.25
    settings.CHECKOUT_POLL_MAX_SECONDS = 1
    settings.CHECKOUT_PUSH_TICK_SECONDS = 0.1
    settings.READ_REPAIR_INTERVAL_SECONDS = 0.1
    return Shop(url=asgi_server.url, sandbox=sandbox)
