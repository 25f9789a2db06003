"""What the simulated channels' tests share: a merchant's callback endpoint on a real port, the
fixtures that start a channel process and an endpoint, polling for what happens asynchronously
(a channel's notifications, its settling refunds), and a phone's browser for the wallet pages.

A channel's conftest says what its endpoint records and how it answers; the serving, recording,
scripting and waiting are the same for the sandbox and both emulators.
"""

import html
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from channel_sim.runner import ChannelProcess


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class CallbackReceiver:
    """Records every callback, answers the next ones as scripted, then with ``default_answer``."""

    path: ClassVar[str]  # the endpoint's path on its own port, e.g. "/callbacks/sandbox/"
    default_answer: ClassVar[Any]
    received_class: ClassVar[type[Received]] = Received
    wait_timeout: ClassVar[float] = 10.0

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: list[Any] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, text = receiver._reply(receiver._record(dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def answer_with(self, *answers: Any) -> None:
        """Answer the next callbacks with these; then with the default answer."""
        self._answers.extend(answers)

    def wait_for(self, count: int, timeout: float | None = None) -> list[Received]:
        with self._changed:
            self._changed.wait_for(
                lambda: len(self.received) >= count,
                self.wait_timeout if timeout is None else timeout,
            )
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _received(self, headers: dict[str, str], body: bytes) -> Received:
        """What is kept of one callback."""
        return self.received_class(headers, body)

    def _reply(self, answer: Any) -> tuple[int, bytes]:
        """The HTTP status and body of an answer."""
        raise NotImplementedError

    def _record(self, headers: dict[str, str], body: bytes) -> Any:
        received = self._received(headers, body)
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
            return self._answers.pop(0) if self._answers else self.default_answer


def poller(default_timeout: float) -> Callable[..., Any]:
    """``wait(check)``: poll ``check`` until it returns something truthy (returned) or the timeout
    runs out (then its last, falsy, result)."""

    def wait(
        check: Callable[[], Any], timeout: float = default_timeout, interval: float = 0.05
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result or time.monotonic() > deadline:
                return result
            time.sleep(interval)

    return wait


def receiver_fixture(receiver_class: type[CallbackReceiver]) -> Callable[..., Any]:
    """A ``receiver`` fixture: a fresh endpoint per test, closed after it."""

    @pytest.fixture(name="receiver")
    def receiver() -> Iterator[CallbackReceiver]:
        endpoint = receiver_class()
        yield endpoint
        endpoint.close()

    return receiver


def module_process_fixture(
    process_class: type[ChannelProcess], data_name: str, **options: Any
) -> Callable[..., Any]:
    """An ``emulator`` fixture: one process per test module, started with ``options``."""

    @pytest.fixture(name="emulator", scope="module")
    def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelProcess]:
        with process_class(tmp_path_factory.mktemp(data_name), **options) as process:
            yield process

    return emulator


def well_behaved_fixture() -> Callable[..., Any]:
    """An autouse fixture: a test that uses the module's ``emulator`` finds it without faults."""

    @pytest.fixture(name="_well_behaved", autouse=True)
    def well_behaved(request: pytest.FixtureRequest) -> None:
        if "emulator" in request.fixturenames:
            request.getfixturevalue("emulator").reset_faults()

    return well_behaved


PHONE_VIEWPORT = {"width": 390, "height": 844}


@contextmanager
def phone_page() -> Iterator[Any]:
    """A page of a real browser (Chromium) the size of a phone, closed afterwards."""
    from playwright.sync_api import sync_playwright  # only browser tests need it

    from tests.chromium import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser.new_page(viewport=PHONE_VIEWPORT)
        finally:
            browser.close()


def wallet_return_link(page_html: str) -> str:
    """Where a paid wallet page sends the buyer back to (its ``#return-link``; the render right
    after the Pay click also follows it by itself, channel_sim.wallet)."""
    found = re.search(r'<a id="return-link" href="([^"]*)"', page_html)
    assert found, "the wallet page has no link back to the merchant"
    return html.unescape(found.group(1))


def emulator_ledger(emulator: ChannelProcess, since: float) -> list[dict]:
    """An emulator's read-only ledger door: its captures and refunds since ``since``."""
    answer = emulator.request("GET", "/_emulator/ledger", params={"since": since})
    assert answer.status_code == 200, answer.text
    return answer.json()
