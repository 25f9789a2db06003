"""Durable notifications retried on a fixed schedule: what every simulated channel's notifier
shares.

A notification row is written in the same transaction as its event (by the channel's own
``enqueue``: the notification is its wire format), so a crash never loses one; after a restart,
pending rows are simply picked up again (at-least-once, stable id). Attempt k is due
``schedule[k-1]`` seconds after the event or the previous attempt; after the last step the
notification is abandoned. One loop thread settles what falls due (refunds) and finds due rows;
each attempt runs in its own short-lived thread so a slow merchant never holds up the others.
The fault dice (delay, drop, duplicate, reorder) are thrown here, the same for every channel.
"""

import http.client
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

from .store import SqliteStore

if TYPE_CHECKING:  # the fault dice are the sandbox's, which every channel takes
    from sandbox_channel.faults import Faults

SEND_TIMEOUT = 5.0
READ_LIMIT = 64 * 1024
STORED_BODY_LIMIT = 500
IDLE_WAKEUP = 1.0  # also how quickly a change of the reorder fault is noticed

# Settles what is due inside the given transaction; answers when the next thing falls due.
Settle = Callable[[sqlite3.Connection, float], float | None]


class Due(Protocol):
    @property
    def key(self) -> str: ...  # the notification's stable id

    url: str
    body: bytes
    attempt: int  # the number of the attempt about to be made, from 1


@dataclass(frozen=True)
class Outcome:
    status: str  # dropped | sent (answered, not acknowledged) | failed (no answer) | delivered
    at: float
    http_status: int | None = None
    response_body: str | None = None
    nonce: str | None = None  # the sandbox's signature nonce


class DeliveryLoop:
    """A channel says which rows are due (``_claim_rows``/``_due``), how one is sent (``_send``,
    usually through ``_post``) and acknowledged, and how an attempt is recorded."""

    log: ClassVar[logging.Logger]
    key_column: ClassVar[str]  # the notifications table's primary key

    def __init__(self, store: SqliteStore, faults: "Faults", schedule: tuple[float, ...]):
        self._store = store
        self._faults = faults
        self._schedule = schedule
        self._settle: Settle | None = None
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._in_flight: set[str] = set()
        self._workers: set[threading.Thread] = set()
        self._guard = threading.Lock()  # protects _in_flight and _workers
        self._loop = threading.Thread(target=self._run, name="notifier", daemon=True)

    # -- what a channel says -------------------------------------------------------------

    def _claim_rows(self, conn: sqlite3.Connection) -> list[sqlite3.Row]:
        """Pending notifications, soonest due first (with ``next_attempt_at``)."""
        raise NotImplementedError

    def _due(self, row: sqlite3.Row) -> Due:
        raise NotImplementedError

    def _send(self, due: Due) -> Outcome:
        raise NotImplementedError

    def _acknowledged(self, status: int, text: str) -> bool:
        raise NotImplementedError

    def _insert_attempt(self, conn: sqlite3.Connection, due: Due, outcome: Outcome) -> None:
        raise NotImplementedError

    def _describe(self, due: Due) -> str:
        """The notification in a log line."""
        raise NotImplementedError

    # -- the loop ------------------------------------------------------------------------

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
            now = time.time()
            due, next_due_at, next_settle_at = self._claim_due(now)
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

    def _claim_due(self, now: float) -> tuple[list[Due], float | None, float | None]:
        """Due notifications not already being sent, when the next one falls due, and when the
        next thing settles."""
        with self._store.transaction() as conn:
            # Settling first makes what is due final before its notification goes out, even when
            # nobody reads it.
            next_settle_at = self._settle(conn, now)
            rows = self._claim_rows(conn)
        due: list[Due] = []
        with self._guard:
            for row in rows:
                if row[self.key_column] in self._in_flight:
                    continue
                if row["next_attempt_at"] > now:
                    return due, row["next_attempt_at"], next_settle_at
                self._in_flight.add(row[self.key_column])
                due.append(self._due(row))
        return due, None, next_settle_at

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
                self._in_flight.difference_update(due.key for due in batch)
                self._workers.discard(threading.current_thread())
            self._wakeup.set()

    def _attempt(self, due: Due) -> None:
        delay = self._faults.random_delay("notify_delay_ms")
        if delay and self._stopping.wait(delay):
            return
        if self._faults.chance("notify_drop"):
            outcomes = [Outcome("dropped", time.time())]
        else:
            outcomes = [self._send(due)]
            if self._faults.chance("notify_duplicate"):
                outcomes.append(self._send(due))
        if self._stopping.is_set():
            return  # the store may be closing; the attempt will be made again after a restart
        self._record(due, outcomes)

    def _post(
        self, url: str, body: bytes, headers: dict[str, str], nonce: str | None = None
    ) -> Outcome:
        """One POST to the merchant, and whether it acknowledged it in the channel's dialect."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=SEND_TIMEOUT)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read(READ_LIMIT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(
                "failed", time.time(), response_body=repr(exc)[:STORED_BODY_LIMIT], nonce=nonce
            )
        finally:
            connection.close()
        return Outcome(
            "delivered" if self._acknowledged(response.status, text) else "sent",
            time.time(),
            http_status=response.status,
            response_body=text[:STORED_BODY_LIMIT],
            nonce=nonce,
        )

    def _record(self, due: Due, outcomes: Sequence[Outcome]) -> None:
        delivered = any(outcome.status == "delivered" for outcome in outcomes)
        now = time.time()
        with self._store.transaction() as conn:
            for outcome in outcomes:
                self._insert_attempt(conn, due, outcome)
            if delivered:
                state, next_attempt_at = "delivered", None
            elif due.attempt < len(self._schedule):
                state, next_attempt_at = "pending", now + self._schedule[due.attempt]
            else:
                state, next_attempt_at = "abandoned", None
            conn.execute(
                f"UPDATE notifications SET attempts = ?, state = ?, next_attempt_at = ? WHERE {self.key_column} = ?",  # noqa: E501, S608 (key_column: a class constant, not input)
                (due.attempt, state, next_attempt_at, due.key),
            )
        for outcome in outcomes:
            self.log.info(
                "notify %s attempt=%d status=%s http_status=%s",
                self._describe(due),
                due.attempt,
                outcome.status,
                outcome.http_status,
            )
        if state == "abandoned":
            self.log.warning("notify abandoned %s", self._describe(due))


@dataclass(frozen=True)
class EventDue:
    id: str
    event_type: str
    subject: str
    url: str
    body: bytes
    attempt: int  # the number of the attempt about to be made, from 1

    @property
    def key(self) -> str:
        return self.id


class EventNotifier(DeliveryLoop):
    """The emulators' notifications: an event type and a subject (an out_trade_no or
    out_refund_no) per row, in ``channel_sim.store.EVENT_NOTIFICATION_TABLES``."""

    key_column = "id"

    def _store_notification(
        self,
        conn: sqlite3.Connection,
        *,
        id: str,
        event_type: str,
        subject: str,
        url: str,
        body: bytes,
        at: float,
    ) -> None:
        conn.execute(
            "INSERT INTO notifications (id, event_type, subject, url, body, state,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (id, event_type, subject, url, body, at + self._schedule[0], at),
        )

    def _claim_rows(self, conn: sqlite3.Connection) -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT id, event_type, subject, url, body, attempts, next_attempt_at"
            " FROM notifications WHERE state = 'pending' ORDER BY next_attempt_at"
        ).fetchall()

    def _due(self, row: sqlite3.Row) -> EventDue:
        return EventDue(
            row["id"],
            row["event_type"],
            row["subject"],
            row["url"],
            bytes(row["body"]),
            row["attempts"] + 1,
        )

    def _insert_attempt(self, conn: sqlite3.Connection, due: EventDue, outcome: Outcome) -> None:
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

    def _describe(self, due: EventDue) -> str:
        return f"{due.event_type} subject={due.subject} id={due.id}"


def attempt_log(store: SqliteStore, column: str, value: str | None) -> list[dict[str, Any]]:
    """Every delivery attempt with all its columns, oldest first, for tests and humans to observe;
    only those whose ``column`` (a constant of the caller's) is ``value``, unless that is None."""
    query = "SELECT * FROM notify_attempts"
    params: tuple = ()
    if value is not None:
        query += f" WHERE {column} = ?"
        params = (value,)
    with store.transaction() as conn:
        return [dict(row) for row in conn.execute(query + " ORDER BY id", params)]


def list_event_attempts(store: SqliteStore, subject: str | None) -> list[dict[str, Any]]:
    """Every delivery attempt, oldest first (subject: an out_trade_no or out_refund_no)."""
    return attempt_log(store, "subject", subject)
