"""Refunds: idempotent on out_refund_no, never beyond what was paid, PROCESSING first.

A refund is created PROCESSING with its fate already drawn (SUCCESS, or CLOSED under the
``refund_fail_rate`` fault) and settles ``refund_delay_ms`` later, done by the notifier's loop or
by whichever read looks at it first; settling emits the REFUND.* callback in the same transaction.
"""

import secrets
import sqlite3
from datetime import datetime
from typing import Any

from channel_sim.ledger import ledger_lines
from sandbox_channel.faults import Faults

from . import clock, trades, validation
from .errors import WechatError, invalid_request, param_error
from .notifier import Notifier
from .store import Store

FINAL = ("SUCCESS", "CLOSED", "ABNORMAL")
# Captures (a refunded trade stays captured: trade_state REFUND) and succeeded refunds.
LEDGER = (
    "SELECT 'payment' AS type, out_trade_no, '' AS out_refund_no, total AS amount,"
    " paid_at AS time FROM trades WHERE paid_at IS NOT NULL AND created_at >= :since"
    " UNION ALL SELECT 'refund', trades.out_trade_no, out_refund_no, refund, success_time"
    " FROM refunds JOIN trades ON trades.id = refunds.trade_id"
    " WHERE refunds.status = 'SUCCESS' AND trades.created_at >= :since"
)


def resource_not_exists(what: str) -> WechatError:
    return WechatError(404, "RESOURCE_NOT_EXISTS", what)


class Refunds:
    def __init__(self, store: Store, faults: Faults, notifier: Notifier, delay_ms: int):
        self._store = store
        self._faults = faults
        self._notifier = notifier
        self._delay = delay_ms / 1000

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        out_refund_no = validation.out_refund_no(body.get("out_refund_no"))
        if "transaction_id" in body:
            column = "transaction_id"
            value = validation.text(body, "transaction_id", 32)
        else:
            column = "out_trade_no"
            value = validation.out_trade_no(body.get("out_trade_no"))
        amount = validation.amount_object(body)
        refund = validation.fen(amount, "refund", "amount")
        total = validation.fen(amount, "total", "amount")
        reason = validation.text(body, "reason", 80, required=False)
        notify_url = validation.http_url(body, "notify_url", required=False)
        now = clock.now()
        with self._store.transaction() as conn:
            self.settle_due(conn, now)
            trade = trades.load(conn, column, value, now)
            existing = _load(conn, out_refund_no)
            if existing is not None:
                if trade is None or (existing["trade_id"], existing["refund"]) != (
                    trade["id"],
                    refund,
                ):
                    raise invalid_request("out_refund_no was already used with other parameters")
                if existing["status"] == "PROCESSING" and self._faults.chance(
                    "refund_conflict_rate"
                ):
                    raise WechatError(429, "FREQUENCY_LIMITED", "频率限制 (refund in progress)")
                return _view(existing)
            if trade is None:
                raise resource_not_exists("订单不存在 (no such order)")
            if trade["trade_state"] not in trades.PAID:
                raise invalid_request("订单未支付 (only a paid order can be refunded)")
            if total != trade["total"]:
                raise param_error("amount.total must equal the order's total")
            committed = conn.execute(
                "SELECT COALESCE(SUM(refund), 0) FROM refunds"
                " WHERE trade_id = ? AND status != 'CLOSED'",
                (trade["id"],),
            ).fetchone()[0]
            if committed + refund > trade["total"]:
                raise invalid_request(
                    f"申请退款金额超过订单可退金额: {committed} of {trade['total']} fen"
                    " is already refunded or being refunded"
                )
            final_status = "CLOSED" if self._faults.chance("refund_fail_rate") else "SUCCESS"
            conn.execute(
                "INSERT INTO refunds (refund_id, out_refund_no, trade_id, refund, notify_url,"
                " reason, status, final_status, created_at, settles_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'PROCESSING', ?, ?, ?)",
                (
                    _refund_id(now),
                    out_refund_no,
                    trade["id"],
                    refund,
                    notify_url,
                    reason,
                    final_status,
                    now,
                    now + self._settle_delay(),
                ),
            )
            answer = _view(_load(conn, out_refund_no))
        self._notifier.wake()
        return answer

    def create_at_console(self, out_trade_no: str, body: dict[str, Any]) -> dict[str, Any]:
        """Test door: the merchant refunds in the merchant platform, past Paycenter. WeChat
        numbers it when the merchant does not, and sends a refund's result only to the
        notify_url of its request: this one has none, so nobody is notified."""
        with self._store.transaction() as conn:
            trade = trades.load(
                conn, "out_trade_no", validation.out_trade_no(out_trade_no), clock.now()
            )
        if trade is None:
            raise resource_not_exists("订单不存在 (no such order)")
        refund = self.create(
            {
                "out_trade_no": out_trade_no,
                "out_refund_no": body.get("out_refund_no") or f"CONSOLE{secrets.token_hex(8)}",
                "amount": {
                    "refund": body.get("amount"),
                    "total": trade["total"],
                    "currency": trade["currency"],
                },
            }
        )
        return self.get(refund["out_refund_no"])  # settled at once unless a delay is set

    def _settle_delay(self) -> float:
        """Refunds always start PROCESSING here; ``refund_async`` makes them finish later still."""
        if self._faults.flag("refund_async"):
            return max(self._delay, self._faults.seconds("refund_async_ms"))
        return self._delay

    def get(self, out_refund_no: str) -> dict[str, Any]:
        with self._store.transaction() as conn:
            self.settle_due(conn, clock.now())
            refund = _load(conn, out_refund_no)
        if refund is None:
            raise resource_not_exists("退款单不存在 (no such refund)")
        return _view(refund)

    def force(self, out_refund_no: str, status: Any) -> dict[str, Any]:
        """Test door: a PROCESSING refund settles now, into ``status``."""
        if status not in FINAL:
            raise param_error(f"status must be one of {', '.join(FINAL)}")
        now = clock.now()
        with self._store.transaction() as conn:
            refund = _load(conn, out_refund_no)
            if refund is None:
                raise resource_not_exists("退款单不存在 (no such refund)")
            if refund["status"] != "PROCESSING":
                raise WechatError(409, "INVALID_REQUEST", f"the refund is {refund['status']}")
            conn.execute(
                "UPDATE refunds SET final_status = ?, settles_at = ? WHERE refund_id = ?",
                (status, now, refund["refund_id"]),
            )
            self.settle_due(conn, now)
            answer = _view(_load(conn, out_refund_no))
        self._notifier.wake()
        return answer

    def ledger(self, since: float) -> list[dict[str, Any]]:
        """The test door's lines (channel_sim.ledger), refunds due to settle settled first."""
        with self._store.transaction() as conn:
            self.settle_due(conn, clock.now())
            lines = ledger_lines(conn, LEDGER, since)
        self._notifier.wake()
        return lines

    def settle_due(self, conn: sqlite3.Connection, now: float) -> float | None:
        """Settle due PROCESSING refunds (with their callbacks); when the next one is due."""
        due = conn.execute(
            "SELECT refund_id, out_refund_no FROM refunds"
            " WHERE status = 'PROCESSING' AND settles_at <= ? ORDER BY settles_at",
            (now,),
        ).fetchall()
        for row in due:
            conn.execute(
                "UPDATE refunds SET status = final_status,"
                " success_time = CASE final_status WHEN 'SUCCESS' THEN settles_at END"
                " WHERE refund_id = ?",
                (row["refund_id"],),
            )
            refund = _load(conn, row["out_refund_no"])
            if refund["status"] == "SUCCESS":
                conn.execute(
                    "UPDATE trades SET trade_state = 'REFUND' WHERE id = ?", (refund["trade_id"],)
                )
            if refund["notify_url"]:
                self._notifier.enqueue(
                    conn,
                    event_type=f"REFUND.{refund['status']}",
                    subject=refund["out_refund_no"],
                    url=refund["notify_url"],
                    resource=_notification_resource(refund),
                    original_type="refund",
                    at=now,
                )
        upcoming = conn.execute(
            "SELECT MIN(settles_at) FROM refunds WHERE status = 'PROCESSING'"
        ).fetchone()[0]
        return upcoming


def _load(conn: sqlite3.Connection, out_refund_no: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT refunds.*, trades.out_trade_no, trades.transaction_id, trades.total,"
        " trades.currency, trades.mchid FROM refunds JOIN trades ON trades.id = refunds.trade_id"
        " WHERE out_refund_no = ?",
        (out_refund_no,),
    ).fetchone()


def _view(refund: sqlite3.Row) -> dict[str, Any]:
    answer = {
        "refund_id": refund["refund_id"],
        "out_refund_no": refund["out_refund_no"],
        "transaction_id": refund["transaction_id"],
        "out_trade_no": refund["out_trade_no"],
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": clock.rfc3339(refund["created_at"]),
        "status": refund["status"],
        "funds_account": "AVAILABLE",
        "amount": {
            "total": refund["total"],
            "refund": refund["refund"],
            "payer_total": refund["total"],
            "payer_refund": refund["refund"],
            "settlement_total": refund["total"],
            "settlement_refund": refund["refund"],
            "discount_refund": 0,
            "refund_fee": 0,
            "currency": refund["currency"],
            "from": [],
        },
        "promotion_detail": [],
    }
    if refund["success_time"] is not None:
        answer["success_time"] = clock.rfc3339(refund["success_time"])
    return answer


def _notification_resource(refund: sqlite3.Row) -> dict[str, Any]:
    resource = {
        "mchid": refund["mchid"],
        "transaction_id": refund["transaction_id"],
        "out_trade_no": refund["out_trade_no"],
        "refund_id": refund["refund_id"],
        "out_refund_no": refund["out_refund_no"],
        "refund_status": refund["status"],
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": refund["total"],
            "refund": refund["refund"],
            "payer_total": refund["total"],
            "payer_refund": refund["refund"],
        },
    }
    if refund["success_time"] is not None:
        resource["success_time"] = clock.rfc3339(refund["success_time"])
    return resource


def _refund_id(now: float) -> str:
    return (
        f"5030{datetime.fromtimestamp(now, clock.BEIJING):%Y%m%d}{secrets.randbelow(10**17):017d}"
    )
