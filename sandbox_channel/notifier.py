"""Calls merchants back: durable, signed notifications retried on a fixed schedule.

A notification row (a payment, or an asynchronous refund) is written in the same transaction
as its event, so a crash never loses one; after a restart, pending rows are simply picked up
again (at-least-once, stable notify_id). Attempt k is due ``schedule[k-1]`` seconds after the
event or the previous attempt; after the last step the notification is abandoned. One loop
thread finds due rows (and settles due refunds); each attempt runs in its own short-lived thread
so a slow merchant never holds up the others.
"""

import http.client
import json
import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import clock, refunds
from .faults import Faults
from .signing import sign
from .store import Store

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0
READ_LIMIT = 64 * 1024
STORED_BODY_LIMIT = 500
IDLE_WAKEUP = 1.0  # also how quickly a change of the reorder fault is noticed


class EnqueueNotification(Protocol):
    def __call__(
        self,
        conn: sqlite3.Connection,
        *,
        trade_no: str,
        out_trade_no: str,
        url: str,
        payload: dict[str, Any],
        at: float,
    ) -> None: ...


@dataclass(frozen=True)
class Due:
    notify_id: str
    out_trade_no: str
    url: str
    body: bytes
    attempt: int  # the number of the attempt about to be made, from 1


@dataclass(frozen=True)
class Outcome:
    status: str  # dropped | sent (answered, not acknowledged) | failed (no answer) | delivered
    at: float
    nonce: str | None = None
    http_status: int | None = None
    response_body: str | None = None


class Notifier:
    def __init__(self, store: Store, faults: Faults, secret: str, schedule: tuple[float, ...]):
        self._store = store
        self._faults = faults
        self._secret = secret.encode()
        self._schedule = schedule
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
        trade_no: str,
        out_trade_no: str,
        url: str,
        payload: dict[str, Any],
        at: float,
    ) -> None:
        """Store a notification whose first attempt falls due at ``at`` (plus the first step).

        Called inside the transaction that makes the event certain (a payment, a refund whose
        outcome is drawn), so the two are stored or lost together.
        """
        notify_id = f"ntf_{secrets.token_hex(12)}"
        body = json.dumps({"notify_id": notify_id, **payload}, separators=(",", ":")).encode()
        conn.execute(
            "INSERT INTO notifications (notify_id, trade_no, out_trade_no, url, body, state,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (notify_id, trade_no, out_trade_no, url, body, at + self._schedule[0], at),
        )

    def start(self) -> None:
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
            if next_due_at is not None:
                timeout = min(timeout, next_due_at - now)
            if held:
                timeout = min(timeout, release_at - now)
            self._wakeup.wait(max(timeout, 0.0))

    def _claim_due(self, now: float) -> tuple[list[Due], float | None]:
        """Due notifications not already being sent, and when the next one falls due."""
        with self._store.transaction() as conn:
            # Refunds settle here too, so a due refund is final before its notification goes out
            # even when nobody reads it.
            refunds.settle_due(conn, now)
            rows = conn.execute(
                "SELECT notify_id, out_trade_no, url, body, attempts, next_attempt_at"
                " FROM notifications WHERE state = 'pending' ORDER BY next_attempt_at"
            ).fetchall()
        due: list[Due] = []
        with self._guard:
            for row in rows:
                if row["notify_id"] in self._in_flight:
                    continue
                if row["next_attempt_at"] > now:
                    return due, row["next_attempt_at"]
                self._in_flight.add(row["notify_id"])
                due.append(
                    Due(
                        row["notify_id"],
                        row["out_trade_no"],
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
                self._in_flight.difference_update(due.notify_id for due in batch)
                self._workers.discard(threading.current_thread())
            self._wakeup.set()

    def _attempt(self, due: Due) -> None:
        delay = self._faults.random_delay("notify_delay_ms")
        if delay and self._stopping.wait(delay):
            return
        if self._faults.chance("notify_drop"):
            outcomes = [Outcome("dropped", clock.now())]
        else:
            outcomes = [self._send(self._maybe_tampered(due))]
            if self._faults.chance("notify_duplicate"):
                outcomes.append(self._send(self._maybe_tampered(due)))
        if self._stopping.is_set():
            return  # the store may be closing; the attempt will be made again after a restart
        self._record(due, outcomes)

    def _maybe_tampered(self, due: Due) -> Due:
        """The notification as sent: under the tamper fault, signed but with another amount."""
        if not self._faults.chance("notify_amount_tamper_rate"):
            return due
        payload = json.loads(due.body)
        payload["amount"] = self._faults.other_amount(payload["amount"])
        return replace(due, body=json.dumps(payload, separators=(",", ":")).encode())

    def _send(self, due: Due) -> Outcome:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "sandbox-channel",
            "X-Sandbox-Timestamp": timestamp,
            "X-Sandbox-Nonce": nonce,
            "X-Sandbox-Signature": sign(self._secret, timestamp, nonce, due.body),
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
            return Outcome(
                "failed", clock.now(), nonce, response_body=repr(exc)[:STORED_BODY_LIMIT]
            )
        finally:
            connection.close()
        # The merchant must acknowledge in the channel's dialect; a bare 200 is not enough.
        acknowledged = 200 <= response.status < 300 and text.strip() == "success"
        return Outcome(
            "delivered" if acknowledged else "sent",
            clock.now(),
            nonce,
            response.status,
            text[:STORED_BODY_LIMIT],
        )

    def _record(self, due: Due, outcomes: list[Outcome]) -> None:
        delivered = any(outcome.status == "delivered" for outcome in outcomes)
        now = clock.now()
        with self._store.transaction() as conn:
            for outcome in outcomes:
                conn.execute(
                    "INSERT INTO notify_attempts (notify_id, out_trade_no, url, attempt, nonce,"
                    " status, http_status, response_body, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        due.notify_id,
                        due.out_trade_no,
                        due.url,
                        due.attempt,
                        outcome.nonce,
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
                " WHERE notify_id = ?",
                (due.attempt, state, next_attempt_at, due.notify_id),
            )
        for outcome in outcomes:
            log.info(
                "notify out_trade_no=%s notify_id=%s attempt=%d status=%s http_status=%s",
                due.out_trade_no,
                due.notify_id,
                due.attempt,
                outcome.status,
                outcome.http_status,
            )
        if state == "abandoned":
            log.warning(
                "notify abandoned out_trade_no=%s notify_id=%s", due.out_trade_no, due.notify_id
            )


def list_attempts(store: Store, out_trade_no: str | None) -> list[dict]:
    """Every delivery attempt, oldest first, for tests and humans to observe."""
    query = "SELECT * FROM notify_attempts"
    params: tuple = ()
    if out_trade_no is not None:
        query += " WHERE out_trade_no = ?"
        params = (out_trade_no,)
    with store.transaction() as conn:
        rows = conn.execute(query + " ORDER BY id", params).fetchall()
    return [
        {
            "id": row["id"],
            "notify_id": row["notify_id"],
            "out_trade_no": row["out_trade_no"],
            "url": row["url"],
            "attempt": row["attempt"],
            "nonce": row["nonce"],
            "status": row["status"],
            "http_status": row["http_status"],
            "response_body": row["response_body"],
            "at": clock.iso(row["at"], timespec="milliseconds"),
        }
        for row in rows
    ]
