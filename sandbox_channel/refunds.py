"""Refunds of paid trades: idempotent on out_refund_no, never more than was paid.

A refund is created with its fate already drawn (SUCCESS, or FAILED under ``refund_fail_rate``)
and settles into it once ``refund_delay_ms`` has passed; settling is done by whichever read or
write looks at it first, and by the notifier's loop.

Under the ``refund_async`` fault a refund always answers PROCESSING and settles at least
``refund_async_ms`` later; if it was given a ``notify_url``, its notification is stored with it,
falling due at the moment it settles (the outcome is already known, so the body is too).
"""

import secrets
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import clock, validation
from .errors import ApiError
from .faults import Faults
from .store import Store

if TYPE_CHECKING:
    from .notifier import EnqueueNotification


def settle_due(conn: sqlite3.Connection, now: float) -> None:
    conn.execute(
        "UPDATE refunds SET status = final_status,"
        " succeeded_at = CASE final_status WHEN 'SUCCESS' THEN settles_at END"
        " WHERE status = 'PROCESSING' AND settles_at <= ?",
        (now,),
    )


def refunded_amount(conn: sqlite3.Connection, trade_no: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE trade_no = ? AND status = 'SUCCESS'",
        (trade_no,),
    ).fetchone()
    return row[0]


class Refunds:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        delay_ms: int,
        enqueue_notification: "EnqueueNotification",
    ):
        self._store = store
        self._faults = faults
        self._delay = delay_ms / 1000
        self._enqueue_notification = enqueue_notification

    def create(self, body: Any) -> dict[str, Any]:
        body = validation.body_object(body)
        out_trade_no = validation.merchant_no(body, "out_trade_no")
        out_refund_no = validation.merchant_no(body, "out_refund_no")
        amount = validation.amount(body)
        notify_url = validation.http_url(body, "notify_url", required=False)
        now = clock.now()
        with self._store.transaction() as conn:
            settle_due(conn, now)
            existing = _load(conn, out_refund_no)
            if existing is not None:
                if (existing["out_trade_no"], existing["amount"]) != (out_trade_no, amount):
                    raise ApiError(
                        409,
                        "OUT_REFUND_NO_CONFLICT",
                        "out_refund_no was already used for another trade or amount",
                    )
                if existing["status"] == "PROCESSING" and self._faults.chance(
                    "refund_conflict_rate"
                ):
                    raise ApiError(
                        409, "REFUND_IN_PROGRESS", "a refund with this out_refund_no is in flight"
                    )
                return _view(existing)
            # A pre-created trade does not exist at the channel yet (and cannot be paid).
            trade = conn.execute(
                "SELECT trade_no, status, amount FROM trades"
                " WHERE out_trade_no = ? AND precreated = 0",
                (out_trade_no,),
            ).fetchone()
            if trade is None:
                raise ApiError(404, "TRADE_NOT_FOUND", "no trade with this out_trade_no")
            if trade["status"] != "SUCCESS":
                raise ApiError(409, "TRADE_NOT_PAID", "only a paid trade can be refunded")
            committed = conn.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM refunds"
                " WHERE trade_no = ? AND status != 'FAILED'",
                (trade["trade_no"],),
            ).fetchone()[0]
            if committed + amount > trade["amount"]:
                raise ApiError(
                    409,
                    "REFUND_EXCEEDS_PAID",
                    f"{committed} of {trade['amount']} is already refunded or being refunded",
                )
            final_status = "FAILED" if self._faults.chance("refund_fail_rate") else "SUCCESS"
            asynchronous = self._faults.flag("refund_async")
            delay = self._delay
            if asynchronous:
                delay = max(delay, self._faults.seconds("refund_async_ms"))
            conn.execute(
                "INSERT INTO refunds (refund_no, out_refund_no, trade_no, amount, status,"
                " final_status, created_at, settles_at, notify_url)"
                " VALUES (?, ?, ?, ?, 'PROCESSING', ?, ?, ?, ?)",
                (
                    _new_refund_no(now),
                    out_refund_no,
                    trade["trade_no"],
                    amount,
                    final_status,
                    now,
                    now + delay,
                    notify_url,
                ),
            )
            if not asynchronous:
                settle_due(conn, now)
            refund = _load(conn, out_refund_no)
            if asynchronous and notify_url is not None:
                self._enqueue_notification(
                    conn,
                    trade_no=trade["trade_no"],
                    out_trade_no=out_trade_no,
                    url=notify_url,
                    payload=_notification_payload(refund),
                    at=refund["settles_at"],
                )
            return _view(refund)

    def create_at_console(self, out_trade_no: str, body: Any) -> dict[str, Any]:
        """Test door: the merchant refunds in the channel's console, past Paycenter. The channel
        numbers it when the merchant does not; no notify_url, so nobody is notified."""
        body = validation.body_object(body)
        out_refund_no = body.get("out_refund_no") or f"CONSOLE{secrets.token_hex(8)}"
        request = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no}
        return self.create(request | {"amount": body.get("amount")})

    def get(self, out_refund_no: str) -> dict[str, Any]:
        with self._store.transaction() as conn:
            settle_due(conn, clock.now())
            refund = _load(conn, out_refund_no)
        if refund is None:
            raise ApiError(404, "REFUND_NOT_FOUND", "no refund with this out_refund_no")
        return _view(refund)


def _load(conn: sqlite3.Connection, out_refund_no: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT refunds.*, trades.out_trade_no, trades.currency, trades.channel FROM refunds"
        " JOIN trades USING (trade_no) WHERE out_refund_no = ?",
        (out_refund_no,),
    ).fetchone()


def _view(refund: sqlite3.Row) -> dict[str, Any]:
    return {
        "refund_no": refund["refund_no"],
        "out_refund_no": refund["out_refund_no"],
        "out_trade_no": refund["out_trade_no"],
        "amount": refund["amount"],
        "currency": refund["currency"],
        "status": refund["status"],
        "created_at": clock.iso(refund["created_at"]),
        "succeeded_at": clock.iso(refund["succeeded_at"]),
    }


def _notification_payload(refund: sqlite3.Row) -> dict[str, Any]:
    """The refund as it will read once settled: the refund view plus the notification's kind."""
    final_status = refund["final_status"]
    settled = _view(refund) | {
        "status": final_status,
        "succeeded_at": clock.iso(refund["settles_at"]) if final_status == "SUCCESS" else None,
    }
    return {
        "event": f"refund.{final_status.lower()}",
        "type": "refund",
        "channel": refund["channel"],
    } | settled


def _new_refund_no(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
    return f"SBR{stamp}{secrets.randbelow(10**10):010d}"
