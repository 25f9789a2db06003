"""The deployment's public doors, over HTTP: the partner API (as the demo merchant), the demo
shop and checkout pages (as a customer), and each channel server's test doors — the sandbox's or
an emulator's — (as the buyer and the operator). Every answer of Paycenter is counted, so the
run can tell the one 5xx the API documents for a channel that did not answer from every other.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests

HTTP_TIMEOUT = 30
RATE_LIMIT_TRIES = 5
RATE_LIMIT_WAIT_MAX = 10.0
SHOP_TOKEN = re.compile(r'name="token" value="(\w+)"')
CHECKOUT_ORDER = re.compile(r"/checkout/(ord_\w+)/")
# The API's answer when the channel did not answer Paycenter's create-trade call (docs/api.md):
# the channel's outage relayed, retryable, nothing of ours failed.
CHANNEL_DID_NOT_ANSWER = "channel_unavailable"


class Answers:
    """Paycenter's answers by kind: ``ok`` (< 500), ``channel down`` (the API's 503
    ``channel_unavailable`` with Retry-After), ``error`` (any other 5xx, our own outage's 503
    included) and ``unanswered`` (no answer within the timeout)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    def record(self, what: str, response: requests.Response | None) -> None:
        kind = answer_kind(response)
        with self._lock:
            self.counts[kind] += 1
            if kind in ("error", "unanswered"):
                self.errors.append(f"{what}: {_described(response)}")


def answer_kind(response: requests.Response | None) -> str:
    if response is None:
        return "unanswered"
    if response.status_code < 500:
        return "ok"
    if (
        response.status_code == 503
        and "Retry-After" in response.headers
        and _error_code(response) == CHANNEL_DID_NOT_ANSWER
    ):
        return "channel down"
    return "error"


def _error_code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _described(response: requests.Response | None) -> str:
    if response is None:
        return "no answer"
    code = _error_code(response)
    return f"{response.status_code} {code}" if code else str(response.status_code)


class Paycenter:
    """One client of the deployment (a customer's browser session, or the partner's server)."""

    def __init__(self, web: str, api_key: str | None, answers: Answers):
        self.web = web.rstrip("/")
        self.api = f"{self.web}/api/v1"
        self.answers = answers
        self.http = requests.Session()
        if api_key:  # the partner's server; a customer's browser sends none
            self.http.headers["Authorization"] = f"Bearer {api_key}"

    def call(self, method: str, url: str, **kwargs) -> requests.Response | None:
        """The answer, or None when there was none; a rate limit is waited out as a well-behaved
        client does (a run of many customers polls the API hard while it settles)."""
        for _ in range(RATE_LIMIT_TRIES):
            try:
                response = self.http.request(method, url, timeout=HTTP_TIMEOUT, **kwargs)
            except requests.RequestException:
                response = None
            self.answers.record(f"{method} {url.removeprefix(self.web)}", response)
            if response is None or response.status_code != 429:
                return response
            time.sleep(min(float(response.headers.get("Retry-After", 1)), RATE_LIMIT_WAIT_MAX))
        return response

    # --- partner API ---------------------------------------------------------------------

    def create_order(self, body: dict, idempotency_key: str | None = None):
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.call("POST", f"{self.api}/orders", json=body, headers=headers)

    def start_payment(self, order_id: str, channel: str):
        body = {"channel": channel, "client": "pc"}
        return self.call("POST", f"{self.api}/orders/{order_id}/payments", json=body)

    def close_order(self, order_id: str):
        headers = {"Idempotency-Key": f"chaos-close-{uuid.uuid4().hex}"}
        return self.call("POST", f"{self.api}/orders/{order_id}/close", headers=headers)

    def order(self, order_id: str) -> dict | None:
        """The order with its payments and refunds, or None when it could not be read now."""
        response = self.call("GET", f"{self.api}/orders/{order_id}")
        return response.json() if response is not None and response.status_code == 200 else None

    # --- demo shop and checkout pages ----------------------------------------------------

    def shop_order(self, product: str = "tea") -> str | None:
        """A customer orders in the demo shop: the order's id (read from the checkout URL), or
        None when the shop did not take the order."""
        shop = self.call("GET", f"{self.web}/")
        token = SHOP_TOKEN.search(shop.text) if shop is not None else None
        if token is None:
            return None
        page = self.call(
            "POST",
            f"{self.web}/shop/order/",
            data={"product": product, "token": token.group(1), **self._csrf()},
            headers={"Referer": f"{self.web}/"},
        )
        order = CHECKOUT_ORDER.search(page.url) if page is not None else None
        return order.group(1) if order else None

    def checkout_pay(self, order_id: str, channel: str) -> requests.Response | None:
        """The customer picks a channel on the order's checkout page and clicks Pay."""
        page = f"{self.web}/checkout/{order_id}/"
        if "csrftoken" not in self.http.cookies:
            self.call("GET", f"{self.web}/")  # a page with a form sets the CSRF cookie
        return self.call(
            "POST",
            f"{page}pay/",
            data={"channel": channel, **self._csrf()},
            headers={"Referer": page},
        )

    def _csrf(self) -> dict[str, str]:
        return {"csrfmiddlewaretoken": self.http.cookies["csrftoken"]}


class ChannelDoors:
    """A channel server's test doors: the buyer scans and pays, the operator sets faults and
    reads the channel's own record of every capture and refund (``lines``) and of how
    Paycenter answered each callback it sent (``callback_answers``)."""

    pay_path: str
    faults_path: str
    notifications_path: str
    subject_param: str  # the notification log's filter: a trade's or refund's number

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def pay(self, out_trade_no: str) -> bool:
        """The buyer pays the trade (a QR code scanned, old or new): True when it took money."""
        try:
            answer = requests.post(
                self.url + self.pay_path.format(out_trade_no), json={}, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException:
            return False
        return answer.status_code == 200

    @staticmethod
    def scan(qr_content: str | None) -> None:
        """The buyer opens the QR code on a phone (at Alipay the trade exists only from then)."""
        # a code that does not open is paid anyway: the pay door does not need the scan
        if qr_content and qr_content.startswith(("http://", "https://")):
            with contextlib.suppress(requests.RequestException):
                requests.get(qr_content, timeout=HTTP_TIMEOUT)

    def set_faults(self, faults: dict) -> dict:
        answer = requests.post(self.url + self.faults_path, json=faults, timeout=HTTP_TIMEOUT)
        return _ok(answer).json()

    def lines(self, since: datetime) -> list[dict]:
        """Every capture and refund of the trades created since then: dicts with ``type``
        (payment|refund), ``out_trade_no`` and ``amount``."""
        raise NotImplementedError

    def callback_answers(self, subject: str) -> list[int | None]:
        """Paycenter's HTTP status for each callback attempt about ``subject`` (None: the
        channel dropped it, or Paycenter did not answer)."""
        answer = requests.get(
            self.url + self.notifications_path,
            params={self.subject_param: subject},
            timeout=HTTP_TIMEOUT,
        )
        return [
            attempt["http_status"]
            for attempt in _ok(answer).json()
            if attempt["status"] != "dropped"
        ]


class Sandbox(ChannelDoors):
    """The sandbox channel (both its codes): its buyer endpoint, faults and daily statements."""

    pay_path = "/v1/trades/{}/pay"
    faults_path = "/v1/faults"
    notifications_path = "/v1/notifications"
    subject_param = "out_trade_no"

    def lines(self, since: datetime) -> list[dict]:
        today = datetime.now(UTC).date()
        first = since.astimezone(UTC).date()
        days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        return [line for day in days for line in self._statement(day.isoformat())]

    def _statement(self, day: str) -> list[dict]:
        answer = requests.get(f"{self.url}/v1/statements/{day}", timeout=HTTP_TIMEOUT)
        return list(csv.DictReader(io.StringIO(_ok(answer).text)))


class Emulator(ChannelDoors):
    """The WeChat Pay or Alipay emulator: its ``/_emulator/`` doors (docs/wechatpay.md,
    docs/alipay.md), the ledger among them."""

    pay_path = "/_emulator/pay/{}"
    faults_path = "/_emulator/faults"
    notifications_path = "/_emulator/notifications"
    subject_param = "subject"  # an out_trade_no, or (WeChat Pay) an out_refund_no

    def lines(self, since: datetime) -> list[dict]:
        params = {"since": since.timestamp()}
        answer = requests.get(f"{self.url}/_emulator/ledger", params=params, timeout=HTTP_TIMEOUT)
        return _ok(answer).json()


def _ok(answer: requests.Response) -> requests.Response:
    answer.raise_for_status()
    return answer
