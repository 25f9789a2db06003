"""Refunds: synchronous as at Alipay, idempotent on (trade, out_request_no), never beyond what
was paid; a refund of everything closes the trade (TRADE_CLOSED). Each refund that moves money
sends a trade_status_sync notify carrying ``out_biz_no``, ``refund_fee`` and ``gmt_refund``.
Alipay asks for 3 s between refund calls on one trade: a call sooner after the last one it
answered is ACQ.SYSTEM_ERROR, nothing done (kept in memory: a restart forgets it)."""

import secrets
import sqlite3
import threading
from typing import Any

from channel_sim.ledger import ledger_lines

from . import clock, trades, validation
from .errors import business, invalid_parameter
from .keys import Keys
from .notifier import Notifier
from .store import Store

# Captures (a trade refunded in full is TRADE_CLOSED but stays captured) and refunds (all of
# them succeeded: Alipay refunds at once).
LEDGER = (
    "SELECT 'payment' AS type, out_trade_no, '' AS out_refund_no, total AS amount,"
    " paid_at AS time FROM trades WHERE paid_at IS NOT NULL AND created_at >= :since"
    " UNION ALL SELECT 'refund', trades.out_trade_no, out_request_no, amount, refunded_at"
    " FROM refunds JOIN trades ON trades.id = refunds.trade_id"
    " WHERE trades.created_at >= :since"
)


class Refunds:
    def __init__(self, store: Store, keys: Keys, notifier: Notifier, interval: float = 0):
        self._store = store
        self._keys = keys
        self._notifier = notifier
        self._interval = interval
        self._last_calls: dict[int, float] = {}  # trade id -> when its last refund call came
        self._pacing = threading.Lock()

    def refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        amount = validation.fen(biz, "refund_amount")
        out_request_no = validation.out_no(biz, "out_request_no", required=False)
        reason = validation.text(biz, "refund_reason", 256, required=False)
        now = clock.now()
        with self._store.transaction() as conn:
            trade = trades.load_visible(conn, biz, now)
            self._pace(trade["id"], now)
            # Without out_request_no Alipay takes the whole trade as the request.
            out_request_no = out_request_no or trade["out_trade_no"]
            existing = _load(conn, trade["id"], out_request_no)
            if existing is not None:
                if existing["amount"] != amount:
                    raise business(
                        "ACQ.DISCORDANT_REPEAT_REQUEST",
                        "请求信息不一致 (out_request_no was used with another refund_amount)",
                    )
                return _answer(trade, existing, fund_change="N")
            if trade["trade_status"] == "TRADE_FINISHED":
                raise business("ACQ.TRADE_HAS_FINISHED", "交易已完结")
            if trade["trade_status"] != "TRADE_SUCCESS":
                raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法 (the trade is not paid)")
            if trade["refunded"] + amount > trade["total"]:
                raise business(
                    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                    f"退款金额超限: {validation.yuan(trade['refunded'])} of"
                    f" {validation.yuan(trade['total'])} is already refunded",
                )
            conn.execute(
                "INSERT INTO refunds (trade_id, out_request_no, amount, reason, refunded_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (trade["id"], out_request_no, amount, reason, now),
            )
            fully = trade["refunded"] + amount == trade["total"]
            conn.execute(
                "UPDATE trades SET refunded = refunded + ?,"
                " trade_status = CASE WHEN ? THEN 'TRADE_CLOSED' ELSE trade_status END,"
                " closed_at = CASE WHEN ? THEN ? ELSE closed_at END WHERE id = ?",
                (amount, fully, fully, now, trade["id"]),
            )
            trade = _reload(conn, trade)
            refund = _load(conn, trade["id"], out_request_no)
            if trade["notify_url"]:
                self._notifier.enqueue(
                    conn,
                    subject=trade["out_trade_no"],
                    url=trade["notify_url"],
                    params={
                        **trades.notify_params(trade, self._keys),
                        "out_biz_no": out_request_no,
                        "refund_fee": validation.yuan(trade["refunded"]),
                        "gmt_refund": clock.china_time_millis(now),
                    },
                    at=now,
                )
            answer = _answer(trade, refund, fund_change="Y")
        self._notifier.wake()
        return answer

    def _pace(self, trade_id: int, now: float) -> None:
        """Refuse a refund call that comes sooner than the interval after the last one answered
        on this trade (a refused call does not restart the wait). Concurrent calls read the clock
        before they queue for the trade, so without an interval nothing is compared at all."""
        if self._interval <= 0:
            return
        with self._pacing:
            last = self._last_calls.get(trade_id)
            if last is not None and now - last < self._interval:
                raise business(
                    "ACQ.SYSTEM_ERROR",
                    f"系统错误 (refund calls on one trade {self._interval:g} s apart, please)",
                )
            self._last_calls[trade_id] = now

    def refund_at_console(self, out_trade_no: str, body: dict[str, Any]) -> dict[str, Any]:
        """Test door: the merchant refunds in Alipay's merchant console, past Paycenter. Alipay
        numbers the request when the merchant does not, and notifies the trade's notify_url as
        for any refund (a notify tells of the trade's change, whoever made it)."""
        amount = body.get("amount")
        if not (isinstance(amount, int) and not isinstance(amount, bool) and amount > 0):
            raise invalid_parameter("amount must be a positive integer number of fen")
        out_request_no = body.get("out_refund_no") or f"CONSOLE{secrets.token_hex(8)}"
        biz = {"out_trade_no": out_trade_no, "out_request_no": out_request_no}
        self.refund(biz | {"refund_amount": validation.yuan(amount)})
        return {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_request_no,
            "amount": amount,
            "refund_status": "REFUND_SUCCESS",
        }

    def ledger(self, since: float) -> list[dict[str, Any]]:
        """The test door's lines (channel_sim.ledger)."""
        with self._store.transaction() as conn:
            return ledger_lines(conn, LEDGER, since)

    def query(self, biz: dict[str, Any]) -> dict[str, Any]:
        """``alipay.trade.fastpay.refund.query``: an answer without refund_amount = not refunded."""
        out_request_no = validation.out_no(biz, "out_request_no")
        with self._store.transaction() as conn:
            trade = trades.load_visible(conn, biz, clock.now())
            refund = _load(conn, trade["id"], out_request_no)
        if refund is None:
            return {"code": "10000", "msg": "Success"}
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
            "out_request_no": out_request_no,
            "total_amount": validation.yuan(trade["total"]),
            "refund_amount": validation.yuan(refund["amount"]),
            "refund_status": "REFUND_SUCCESS",
            "gmt_refund_pay": clock.china_time(refund["refunded_at"]),
        }


def _load(conn: sqlite3.Connection, trade_id: int, out_request_no: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM refunds WHERE trade_id = ? AND out_request_no = ?",
        (trade_id, out_request_no),
    ).fetchone()


def _reload(conn: sqlite3.Connection, trade: sqlite3.Row) -> sqlite3.Row:
    return conn.execute("SELECT * FROM trades WHERE id = ?", (trade["id"],)).fetchone()


def _answer(trade: sqlite3.Row, refund: sqlite3.Row, *, fund_change: str) -> dict[str, Any]:
    return {
        "code": "10000",
        "msg": "Success",
        "trade_no": trade["trade_no"],
        "out_trade_no": trade["out_trade_no"],
        "buyer_logon_id": trade["buyer_logon_id"],
        "buyer_user_id": trade["buyer_user_id"],
        "fund_change": fund_change,
        "refund_fee": validation.yuan(trade["refunded"]),  # the trade's refunds so far, in all
        "send_back_fee": validation.yuan(refund["amount"]),
        "gmt_refund_pay": clock.china_time(refund["refunded_at"]),
    }
