"""Test helpers: racing real threads (each with its own database connection) and signing."""

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from payments.channels.base import TradeResult, TradeStatus
from payments.models import Payment


def race(fn: Callable[[int], object], n: int) -> list[object]:
    """Run fn(i) in n threads released at the same instant; returns results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i: int):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        except Exception as error:  # collected and asserted on by the test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def success_for(payment: Payment, **overrides) -> TradeResult:
    data = {
        "out_trade_no": payment.out_trade_no,
        "status": TradeStatus.SUCCEEDED,
        "channel_trade_no": f"T{payment.out_trade_no}",
        "amount": payment.amount,
        "currency": payment.currency,
        "raw": {"test": True},
    }
    data.update(overrides)
    return TradeResult(**data)


def signed_notification(payment: Payment, secret: str, **overrides) -> tuple[dict, bytes]:
    """A sandbox-style notification, signed here independently of the adapter's verifier."""
    timestamp = str(overrides.pop("timestamp", int(time.time())))
    nonce = overrides.pop("nonce", secrets.token_hex(16))
    body_data = {
        "notify_id": secrets.token_hex(8),
        "event": "trade.success",
        "channel": payment.channel,
        "trade_no": f"SBX{payment.out_trade_no}",
        "out_trade_no": payment.out_trade_no,
        "status": "SUCCESS",
        "amount": payment.amount,
        "currency": payment.currency,
        "paid_at": "2026-11-21T10:00:00+00:00",
    }
    body_data.update(overrides)
    body = json.dumps(body_data).encode()
    return signature_headers(secret, body, timestamp=timestamp, nonce=nonce), body


def signature_headers(secret: str, body: bytes, *, timestamp: str, nonce: str) -> dict:
    signature = hmac.new(
        secret.encode(), f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256
    ).hexdigest()
    return {
        "X-Sandbox-Timestamp": timestamp,
        "X-Sandbox-Nonce": nonce,
        "X-Sandbox-Signature": signature,
    }


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 10,
    interval: float = 0.05,
    what: str = "condition",
):
    """Poll until predicate() is truthy (bounded); returns its value. For what happens
    asynchronously: callbacks, jobs, other processes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)
