"""The deployment's public doors, over HTTP: the partner API (as the demo merchant), the demo
shop and checkout pages (as a customer), and the sandbox channel's test endpoints (as the buyer
and the operator). Every answer of Paycenter is counted, so the run can tell a designed outage
answer (503 with Retry-After) from an error it must never give (any other 5xx, or none at all).
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import uuid
from collections import Counter
from datetime import date

import requests

HTTP_TIMEOUT = 30
RATE_LIMIT_TRIES = 5
RATE_LIMIT_WAIT_MAX = 10.0
SHOP_TOKEN = re.compile(r'name="token" value="(\w+)"')
CHECKOUT_ORDER = re.compile(r"/checkout/(ord_\w+)/")


class Answers:
    """Paycenter's answers by kind: ``ok`` (< 500), ``outage`` (a designed 503 with
    Retry-After), ``error`` (any other 5xx) and ``unanswered`` (no answer within the timeout)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    def record(self, what: str, response: requests.Response | None) -> None:
        if response is None:
            kind = "unanswered"
        elif response.status_code < 500:
            kind = "ok"
        elif response.status_code == 503 and "Retry-After" in response.headers:
            kind = "outage"
        else:
            kind = "error"
        with self._lock:
            self.counts[kind] += 1
            if kind in ("error", "unanswered"):
                status = response.status_code if response is not None else "no answer"
                self.errors.append(f"{what}: {status}")


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


class Sandbox:
    """The sandbox channel's own doors: the buyer pays, the operator sets faults and reads the
    statement (the channel's own record of every capture and refund)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def pay(self, out_trade_no: str) -> bool:
        """The buyer pays the trade (a QR code scanned, old or new): True when it took money."""
        try:
            answer = requests.post(
                f"{self.url}/v1/trades/{out_trade_no}/pay", json={}, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException:
            return False
        return answer.status_code == 200

    def faults(self) -> dict:
        return self._ok(requests.get(f"{self.url}/v1/faults", timeout=HTTP_TIMEOUT)).json()

    def set_faults(self, faults: dict) -> dict:
        answer = requests.post(f"{self.url}/v1/faults", json=faults, timeout=HTTP_TIMEOUT)
        return self._ok(answer).json()

    def statement(self, day: date) -> list[dict[str, str]]:
        answer = requests.get(f"{self.url}/v1/statements/{day.isoformat()}", timeout=HTTP_TIMEOUT)
        return list(csv.DictReader(io.StringIO(self._ok(answer).text)))

    @staticmethod
    def _ok(answer: requests.Response) -> requests.Response:
        answer.raise_for_status()
        return answer
