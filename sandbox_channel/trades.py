"""Trades: create, query, close and pay, with lazy expiry at ``time_expire``.

Every read or write first applies expiry (a WAITING trade past its ``time_expire`` becomes
CLOSED and stays so), which is how a real channel behaves without a timer per trade.

Under the ``lazy_trades`` fault a trade is created *pre-created*, like Alipay's QR trades: the
merchant's query and close do not find it until the buyer opens the wallet page or pays, yet
it is payable all along until its ``time_expire``.
"""

import secrets
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import clock, refunds, validation
from .errors import ApiError
from .faults import Faults
from .notifier import EnqueueNotification
from .store import Store

NOT_FOUND = "no trade with this out_trade_no"

# Lookup column -> (expire-if-due, select); every load applies expiry first.
_EXPIRE = "UPDATE trades SET status = 'CLOSED', closed_at = time_expire WHERE status = 'WAITING'"
_LOAD_BY = {
    "trade_no": (
        _EXPIRE + " AND trade_no = ? AND time_expire <= ?",
        "SELECT * FROM trades WHERE trade_no = ?",
    ),
    "out_trade_no": (
        _EXPIRE + " AND out_trade_no = ? AND time_expire <= ?",
        "SELECT * FROM trades WHERE out_trade_no = ?",
    ),
}


class Trades:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        channels: tuple[str, ...],
        public_url: str,
        enqueue_notification: EnqueueNotification,
        on_paid: Callable[[], None],
    ):
        self._store = store
        self._faults = faults
        self._channels = channels
        self._public_url = public_url.rstrip("/")
        self._enqueue_notification = enqueue_notification
        self._on_paid = on_paid

    def create(self, body: Any) -> dict[str, Any]:
        body = validation.body_object(body)
        channel = body.get("channel")
        if channel not in self._channels:
            raise ApiError(400, "UNKNOWN_CHANNEL", f"channel must be one of {self._channels}")
        out_trade_no = validation.merchant_no(body, "out_trade_no")
        amount = validation.amount(body)
        currency = validation.currency(body)
        subject = validation.text(body, "subject", 256)
        notify_url = validation.http_url(body, "notify_url")
        return_url = validation.http_url(body, "return_url", required=False)
        time_expire = validation.timestamp(body, "time_expire")
        now = clock.now()
        with self._store.transaction() as conn:
            existing = self._load(conn, "out_trade_no", out_trade_no, now)
            if existing is not None:
                if (existing["channel"], existing["amount"], existing["currency"]) != (
                    channel,
                    amount,
                    currency,
                ):
                    raise ApiError(
                        409,
                        "OUT_TRADE_NO_CONFLICT",
                        "out_trade_no was already used with another channel, amount or currency",
                    )
                return self._view(conn, existing)
            if time_expire <= now:
                raise ApiError(400, "INVALID_REQUEST", "time_expire is in the past")
            conn.execute(
                "INSERT INTO trades (trade_no, out_trade_no, channel, status, amount, currency,"
                " subject, notify_url, return_url, time_expire, created_at, precreated)"
                " VALUES (?, ?, ?, 'WAITING', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _new_trade_no(now),
                    out_trade_no,
                    channel,
                    amount,
                    currency,
                    subject,
                    notify_url,
                    return_url,
                    time_expire,
                    now,
                    int(self._faults.flag("lazy_trades")),
                ),
            )
            return self._view(conn, self._load(conn, "out_trade_no", out_trade_no, now))

    def query(self, out_trade_no: str) -> dict[str, Any]:
        with self._store.transaction() as conn:
            trade = self._require(conn, out_trade_no)
            view = self._view(conn, trade)
        if view["status"] == "SUCCESS" and self._faults.chance("query_stale_rate"):
            view.update(status="WAITING", paid_at=None)
        return view

    def close(self, out_trade_no: str) -> dict[str, Any]:
        with self._store.transaction() as conn:
            trade = self._require(conn, out_trade_no)
            if self._faults.chance("close_unknown_rate"):
                return {"status": "UNKNOWN"}
            if trade["status"] == "WAITING":
                conn.execute(
                    "UPDATE trades SET status = 'CLOSED', closed_at = ? WHERE trade_no = ?",
                    (clock.now(), trade["trade_no"]),
                )
                trade = self._require(conn, out_trade_no)
            return self._view(conn, trade)

    def pay(self, *, out_trade_no: str | None = None, trade_no: str | None = None) -> dict:
        """The buyer pays. Identified by out_trade_no (API) or trade_no (wallet page)."""
        column, value = ("trade_no", trade_no) if trade_no else ("out_trade_no", out_trade_no)
        now = clock.now()
        with self._store.transaction() as conn:
            trade = self._load(conn, column, value, now)
            if trade is None:
                raise ApiError(404, "TRADE_NOT_FOUND", "no such trade")
            if trade["status"] == "SUCCESS":
                raise ApiError(409, "TRADE_ALREADY_PAID", "this trade is already paid")
            if trade["status"] == "CLOSED" and not self._faults.flag("pay_after_expire"):
                raise ApiError(409, "TRADE_NOT_PAYABLE", "this trade is closed or expired")
            conn.execute(
                "UPDATE trades SET status = 'SUCCESS', paid_at = ?, precreated = 0"
                " WHERE trade_no = ?",
                (now, trade["trade_no"]),
            )
            trade = self._load(conn, column, value, now)
            self._enqueue_notification(
                conn,
                trade_no=trade["trade_no"],
                out_trade_no=trade["out_trade_no"],
                url=trade["notify_url"],
                payload=_notification_payload(trade),
                at=now,
            )
            view = self._view(conn, trade)
        self._on_paid()
        return view

    def for_wallet(self, trade_no: str) -> tuple[dict[str, Any], str | None, bool]:
        """The trade as the wallet page shows it: (trade, return_url, payable).

        Opening the page makes a pre-created trade exist at the channel (the buyer scanned it).
        """
        with self._store.transaction() as conn:
            trade = self._load(conn, "trade_no", trade_no, clock.now())
            if trade is None:
                raise ApiError(404, "TRADE_NOT_FOUND", "no such trade")
            conn.execute("UPDATE trades SET precreated = 0 WHERE trade_no = ?", (trade_no,))
            view = self._view(conn, trade)
        payable = view["status"] == "WAITING" or (
            view["status"] == "CLOSED" and self._faults.flag("pay_after_expire")
        )
        return view, trade["return_url"], payable

    def recent(self, limit: int = 10) -> list[sqlite3.Row]:
        """The latest trades as stored, for the home page's wallet links (a read only: a
        trade past time_expire shows its stored status until it is next asked about)."""
        with self._store.transaction() as conn:
            return conn.execute(
                "SELECT trade_no, out_trade_no, channel, status, amount, currency, subject"
                " FROM trades WHERE precreated = 0 ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()

    def _require(self, conn: sqlite3.Connection, out_trade_no: str) -> sqlite3.Row:
        trade = self._load(conn, "out_trade_no", out_trade_no, clock.now())
        if trade is None or trade["precreated"]:
            raise ApiError(404, "TRADE_NOT_FOUND", NOT_FOUND)
        return trade

    @staticmethod
    def _load(conn: sqlite3.Connection, column: str, value: str, now: float) -> sqlite3.Row | None:
        expire, select = _LOAD_BY[column]
        conn.execute(expire, (value, now))
        return conn.execute(select, (value,)).fetchone()

    def _view(self, conn: sqlite3.Connection, trade: sqlite3.Row) -> dict[str, Any]:
        refunds.settle_due(conn, clock.now())
        wallet_url = f"{self._public_url}/wallet/{trade['trade_no']}"
        return {
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
            "channel": trade["channel"],
            "status": trade["status"],
            "amount": trade["amount"],
            "currency": trade["currency"],
            "subject": trade["subject"],
            "paid_at": clock.iso(trade["paid_at"]),
            "refunded_amount": refunds.refunded_amount(conn, trade["trade_no"]),
            "time_expire": clock.iso(trade["time_expire"]),
            "qr_content": wallet_url,
            "pay_url": wallet_url,
            "created_at": clock.iso(trade["created_at"]),
        }


def _notification_payload(trade: sqlite3.Row) -> dict[str, Any]:
    return {
        "event": "trade.success",
        "type": "trade",
        "channel": trade["channel"],
        "trade_no": trade["trade_no"],
        "out_trade_no": trade["out_trade_no"],
        "status": "SUCCESS",
        "amount": trade["amount"],
        "currency": trade["currency"],
        "paid_at": clock.iso(trade["paid_at"]),
    }


def _new_trade_no(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
    return f"SBX{stamp}{secrets.randbelow(10**10):010d}"
