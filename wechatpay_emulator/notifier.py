"""Callbacks: durable, signed, AEAD-encrypted notifications retried on WeChat's schedule.

A notification row is written in the same transaction as the payment or the refund's outcome,
so a crash never loses one; pending rows are picked up again after a restart (at-least-once,
stable event id and encrypted body; fresh signature headers on every attempt). Attempt k is
due ``schedule[k-1]`` seconds after the event or the previous attempt; after the last step it is
abandoned. The loop thread also settles refunds that fall due, which emits their callbacks.
"""

import http.client
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox_channel.faults import Faults

from . import clock, crypto
from .signer import Signer
from .store import Store

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0  # WeChat's own wait for the merchant's answer
READ_LIMIT = 64 * 1024
STORED_BODY_LIMIT = 500
IDLE_WAKEUP = 1.0
SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}

# Settles what is due inside the given transaction; answers when the next thing falls due.
Settle = Callable[[sqlite3.Connection, float], float | None]


@dataclass(frozen=True)
class Due:
    id: str
    event_type: str
    subject: str
    url: str
    body: bytes
    attempt: int  # the number of the attempt about to be made, from 1


@dataclass(frozen=True)
class Outcome:
    status: str  # dropped | sent (answered, not 2xx) | failed (no answer) | delivered
    at: float
    http_status: int | None = None
    response_body: str | None = None


# The amounts a tampered callback misreports: what the buyer paid, or what was refunded.
TAMPERED_AMOUNTS = {"transaction": ("total", "payer_total"), "refund": ("refund", "payer_refund")}


class Notifier:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        signer: Signer,
        apiv3_key: bytes,
        schedule: tuple[float, ...],
    ):
        self._store = store
        self._faults = faults
        self._signer = signer
        self._apiv3_key = apiv3_key
        self._schedule = schedule
        self._settle: Settle | None = None
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._in_flight: set[str] = set()
        self._workers: set[threading.Thread] = set()
        self._guard = threading.Lock()  # protects _in_flight and _workers
        self._loop = threading.Thread(target=self._run, name="notifier", daemon=True)

    def enqueue(
        self,
        conn: sqlite3.Connection,
        *,
        event_type: str,
        subject: str,
        url: str,
        resource: dict[str, Any],
        original_type: str,
        at: float,
    ) -> None:
        """Store a callback; called inside the transaction that records the event."""
        event_id = f"EV-{secrets.token_hex(10).upper()}"
        if self._faults.chance("notify_amount_tamper_rate"):
            resource = self._tampered(resource, original_type)
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        encrypted = crypto.encrypt_resource(self._apiv3_key, plaintext, original_type)
        body = json.dumps(
            {
                "id": event_id,
                "create_time": clock.rfc3339(at),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": SUMMARIES[event_type],
                "resource": {"original_type": original_type, **encrypted},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        conn.execute(
            "INSERT INTO notifications (id, event_type, subject, url, body, state,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (event_id, event_type, subject, url, body, at + self._schedule[0], at),
        )

    def _tampered(self, resource: dict[str, Any], original_type: str) -> dict[str, Any]:
        """The same event, encrypted and signed as ever, reporting another amount."""
        amount = dict(resource["amount"])
        keys = TAMPERED_AMOUNTS[original_type]
        amount.update(dict.fromkeys(keys, self._faults.other_amount(amount[keys[0]])))
        return {**resource, "amount": amount}

    def start(self, settle: Settle) -> None:
        self._settle = settle
        self._loop.start()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop sending. An attempt cut short is not recorded, so it is made again next run."""
        self._stopping.set()
        self._wakeup.set()
        deadline = time.monotonic() + timeout
        self._loop.join(timeout)
        with self._guard:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        held: list[Due] = []
        release_at = 0.0
        while not self._stopping.is_set():
            self._wakeup.clear()
            now = clock.now()
            with self._store.transaction() as conn:
                next_settle_at = self._settle(conn, now)
            due, next_due_at = self._claim_due(now)
            reorder = self._faults.flag("notify_reorder")
            if reorder:
                # Collect for a window, then send the whole batch, shuffled, one after another.
                if due and not held:
                    release_at = now + self._faults.seconds("reorder_window_ms")
                held.extend(due)
            else:
                for item in due:
                    self._spawn([item])
            if held and (now >= release_at or not reorder):
                self._faults.shuffle(held)
                self._spawn(held)
                held = []
            timeout = IDLE_WAKEUP
            for moment in (next_due_at, next_settle_at, release_at if held else None):
                if moment is not None:
                    timeout = min(timeout, moment - now)
            self._wakeup.wait(max(timeout, 0.0))

    def _claim_due(self, now: float) -> tuple[list[Due], float | None]:
        """Due notifications not already being sent, and when the next one falls due."""
        with self._store.transaction() as conn:
            rows = conn.execute(
                "SELECT id, event_type, subject, url, body, attempts, next_attempt_at"
                " FROM notifications WHERE state = 'pending' ORDER BY next_attempt_at"
            ).fetchall()
        due: list[Due] = []
        with self._guard:
            for row in rows:
                if row["id"] in self._in_flight:
                    continue
                if row["next_attempt_at"] > now:
                    return due, row["next_attempt_at"]
                self._in_flight.add(row["id"])
                due.append(
                    Due(
                        row["id"],
                        row["event_type"],
                        row["subject"],
                        row["url"],
                        bytes(row["body"]),
                        row["attempts"] + 1,
                    )
                )
        return due, None

    def _spawn(self, batch: list[Due]) -> None:
        worker = threading.Thread(target=self._deliver, args=(batch,), daemon=True)
        with self._guard:
            self._workers.add(worker)
        worker.start()

    def _deliver(self, batch: list[Due]) -> None:
        try:
            for due in batch:
                if self._stopping.is_set():
                    return
                self._attempt(due)
        finally:
            with self._guard:
                self._in_flight.difference_update(due.id for due in batch)
                self._workers.discard(threading.current_thread())
            self._wakeup.set()

    def _attempt(self, due: Due) -> None:
        delay = self._faults.random_delay("notify_delay_ms")
        if delay and self._stopping.wait(delay):
            return
        if self._faults.chance("notify_drop"):
            outcomes = [Outcome("dropped", clock.now())]
        else:
            outcomes = [self._send(due)]
            if self._faults.chance("notify_duplicate"):
                outcomes.append(self._send(due))
        if self._stopping.is_set():
            return  # the store may be closing; the attempt will be made again after a restart
        self._record(due, outcomes)

    def _send(self, due: Due) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Mozilla/4.0 (WechatPay emulator)",
            **self._signer.headers(due.body),
        }
        parts = urlsplit(due.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=SEND_TIMEOUT)
        try:
            connection.request("POST", path, body=due.body, headers=headers)
            response = connection.getresponse()
            text = response.read(READ_LIMIT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            return Outcome("failed", clock.now(), response_body=repr(exc)[:STORED_BODY_LIMIT])
        finally:
            connection.close()
        # WeChat takes any 2xx (200 or 204) as received; the body is not read.
        delivered = 200 <= response.status < 300
        return Outcome(
            "delivered" if delivered else "sent",
            clock.now(),
            response.status,
            text[:STORED_BODY_LIMIT],
        )

    def _record(self, due: Due, outcomes: list[Outcome]) -> None:
        delivered = any(outcome.status == "delivered" for outcome in outcomes)
        now = clock.now()
        with self._store.transaction() as conn:
            for outcome in outcomes:
                conn.execute(
                    "INSERT INTO notify_attempts (notification, event_type, subject, attempt,"
                    " status, http_status, response_body, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        due.id,
                        due.event_type,
                        due.subject,
                        due.attempt,
                        outcome.status,
                        outcome.http_status,
                        outcome.response_body,
                        outcome.at,
                    ),
                )
            if delivered:
                state, next_attempt_at = "delivered", None
            elif due.attempt < len(self._schedule):
                state, next_attempt_at = "pending", now + self._schedule[due.attempt]
            else:
                state, next_attempt_at = "abandoned", None
            conn.execute(
                "UPDATE notifications SET attempts = ?, state = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (due.attempt, state, next_attempt_at, due.id),
            )
        for outcome in outcomes:
            log.info(
                "notify %s subject=%s id=%s attempt=%d status=%s http_status=%s",
                due.event_type,
                due.subject,
                due.id,
                due.attempt,
                outcome.status,
                outcome.http_status,
            )
        if state == "abandoned":
            log.warning("notify abandoned %s subject=%s id=%s", due.event_type, due.subject, due.id)


def list_attempts(store: Store, subject: str | None) -> list[dict[str, Any]]:
    """Every delivery attempt, oldest first (subject: an out_trade_no or out_refund_no)."""
    query = "SELECT * FROM notify_attempts"
    params: tuple = ()
    if subject is not None:
        query += " WHERE subject = ?"
        params = (subject,)
    with store.transaction() as conn:
        rows = conn.execute(query + " ORDER BY id", params).fetchall()
    return [
        {
            "id": row["id"],
            "notification": row["notification"],
            "event_type": row["event_type"],
            "subject": row["subject"],
            "attempt": row["attempt"],
            "status": row["status"],
            "http_status": row["http_status"],
            "response_body": row["response_body"],
            "at": row["at"],
        }
        for row in rows
    ]
