"""Calls merchants back: durable, signed notifications (a payment, or an asynchronous refund).

The delivery loop, its retry schedule and its fault dice are every simulated channel's
(``channel_sim.notifier``); here are the sandbox's notification (a JSON body with a stable
``notify_id``), its HMAC signature headers, its acknowledgement (``success``) and its attempt log.
"""

import json
import logging
import secrets
import sqlite3
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from channel_sim.notifier import DeliveryLoop, Outcome, attempt_log

from . import clock, refunds
from .faults import Faults
from .signing import sign
from .store import Store


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

    @property
    def key(self) -> str:
        return self.notify_id


class Notifier(DeliveryLoop):
    log = logging.getLogger(__name__)
    key_column = "notify_id"

    def __init__(self, store: Store, faults: Faults, secret: str, schedule: tuple[float, ...]):
        super().__init__(store, faults, schedule)
        self._secret = secret.encode()

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
        # Refunds settle in the loop too, so a due refund is final before its notification goes
        # out even when nobody reads it.
        super().start(refunds.settle_due)

    def _claim_rows(self, conn: sqlite3.Connection) -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT notify_id, out_trade_no, url, body, attempts, next_attempt_at"
            " FROM notifications WHERE state = 'pending' ORDER BY next_attempt_at"
        ).fetchall()

    def _due(self, row: sqlite3.Row) -> Due:
        return Due(
            row["notify_id"],
            row["out_trade_no"],
            row["url"],
            bytes(row["body"]),
            row["attempts"] + 1,
        )

    def _maybe_tampered(self, due: Due) -> Due:
        """The notification as sent: under the tamper fault, signed but with another amount."""
        if not self._faults.chance("notify_amount_tamper_rate"):
            return due
        payload = json.loads(due.body)
        payload["amount"] = self._faults.other_amount(payload["amount"])
        return replace(due, body=json.dumps(payload, separators=(",", ":")).encode())

    def _send(self, due: Due) -> Outcome:
        sent = self._maybe_tampered(due)
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "sandbox-channel",
            "X-Sandbox-Timestamp": timestamp,
            "X-Sandbox-Nonce": nonce,
            "X-Sandbox-Signature": sign(self._secret, timestamp, nonce, sent.body),
        }
        return self._post(sent.url, sent.body, headers, nonce=nonce)

    def _acknowledged(self, status: int, text: str) -> bool:
        # The merchant must acknowledge in the channel's dialect; a bare 200 is not enough.
        return 200 <= status < 300 and text.strip() == "success"

    def _insert_attempt(self, conn: sqlite3.Connection, due: Due, outcome: Outcome) -> None:
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

    def _describe(self, due: Due) -> str:
        return f"out_trade_no={due.out_trade_no} notify_id={due.notify_id}"


def list_attempts(store: Store, out_trade_no: str | None) -> list[dict]:
    """Every delivery attempt, oldest first, for tests and humans to observe."""
    return [
        {**attempt, "at": clock.iso(attempt["at"], timespec="milliseconds")}
        for attempt in attempt_log(store, "out_trade_no", out_trade_no)
    ]
