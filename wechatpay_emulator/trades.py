"""Trades: Native and H5 orders, query, close and the buyer's payment, with expiry.

Every load first applies expiry (an unpaid trade, NOTPAY or PAYERROR, past its ``time_expire``
becomes CLOSED and stays so), which is how WeChat behaves without a timer per trade.
"""

import json
import secrets
import sqlite3
from datetime import datetime
from typing import Any

from sandbox_channel.faults import Faults

from . import clock, validation
from .errors import WechatError, invalid_request, param_error, system_error
from .keys import Keys
from .notifier import Notifier
from .store import Store

DEFAULT_TIME_TO_EXPIRE = 2 * 3600
H5_TYPES = ("Wap", "iOS", "Android")
STATE_DESCRIPTIONS = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "转入退款",
    "PAYERROR": "支付失败",
}
PAID = ("SUCCESS", "REFUND")


def order_not_exist() -> WechatError:
    return WechatError(404, "ORDER_NOT_EXIST", "订单不存在 (no such order)")


_EXPIRE = (
    "UPDATE trades SET trade_state = 'CLOSED', closed_at = time_expire"
    " WHERE trade_state IN ('NOTPAY', 'PAYERROR') AND time_expire <= ? AND {column} = ?"
)
LOOKUP_COLUMNS = ("out_trade_no", "transaction_id", "prepay_id")


def load(conn: sqlite3.Connection, column: str, value: str, now: float) -> sqlite3.Row | None:
    if column not in LOOKUP_COLUMNS:
        raise ValueError(column)
    conn.execute(_EXPIRE.format(column=column), (now, value))
    return conn.execute(f"SELECT * FROM trades WHERE {column} = ?", (value,)).fetchone()  # noqa: S608


def view(trade: sqlite3.Row, state: str | None = None) -> dict[str, Any]:
    """The trade as query answers and payment callbacks show it."""
    state = state or trade["trade_state"]
    paid = state in PAID
    answer: dict[str, Any] = {
        "appid": trade["appid"],
        "mchid": trade["mchid"],
        "out_trade_no": trade["out_trade_no"],
        "trade_type": trade["trade_type"],
        "trade_state": state,
        "trade_state_desc": STATE_DESCRIPTIONS[state],
        "attach": trade["attach"],
        "amount": {"total": trade["total"], "currency": trade["currency"]},
        "payer": {},
    }
    if paid:
        answer.update(
            transaction_id=trade["transaction_id"],
            bank_type="OTHERS",
            success_time=clock.rfc3339(trade["paid_at"]),
            payer={"openid": trade["payer_openid"]},
        )
        answer["amount"].update(payer_total=trade["total"], payer_currency=trade["currency"])
    return answer


class Trades:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        keys: Keys,
        public_url: str,
        notifier: Notifier,
        min_expire_seconds: float,
        close_not_before_seconds: float,
    ):
        self._store = store
        # WeChat refuses an order that expires in less than a minute; tests shrink the minute.
        self._min_expire = min_expire_seconds
        # WeChat: no close within 5 minutes of the order's creation; tests shrink it too.
        self._close_not_before = close_not_before_seconds
        self._faults = faults
        self._keys = keys
        self._public_url = public_url.rstrip("/")
        self._notifier = notifier

    def create(self, trade_type: str, body: dict[str, Any]) -> dict[str, str]:
        order = self._order(trade_type, body)
        now = clock.now()
        with self._store.transaction() as conn:
            existing = load(conn, "out_trade_no", order["out_trade_no"], now)
            if existing is not None:
                return self._repeat(existing, order)
            if order["time_expire"] is None:
                order["time_expire"] = now + DEFAULT_TIME_TO_EXPIRE
            elif order["time_expire"] < now + self._min_expire:
                raise param_error(f"time_expire must be at least {self._min_expire:g} s from now")
            conn.execute(
                "INSERT INTO trades (out_trade_no, prepay_id, trade_type, trade_state, appid,"
                " mchid, description, attach, notify_url, total, currency, fingerprint,"
                " time_expire, created_at)"
                " VALUES (:out_trade_no, :prepay_id, :trade_type, 'NOTPAY', :appid, :mchid,"
                " :description, :attach, :notify_url, :total, :currency, :fingerprint,"
                " :time_expire, :created_at)",
                {**order, "prepay_id": _prepay_id(now), "created_at": now},
            )
            return self._pay_action(load(conn, "out_trade_no", order["out_trade_no"], now))

    def query(self, column: str, value: str, mchid: str | None) -> dict[str, Any]:
        self._check_mchid(mchid)
        with self._store.transaction() as conn:
            trade = load(conn, column, value, clock.now())
            if trade is None or (column == "transaction_id" and trade["trade_state"] not in PAID):
                raise order_not_exist()
        state = trade["trade_state"]
        if state in PAID and self._faults.chance("query_stale_rate"):
            state = "NOTPAY"
        return view(trade, state)

    def close(self, out_trade_no: str, body: dict[str, Any]) -> None:
        self._check_mchid(body.get("mchid"))
        now = clock.now()
        with self._store.transaction() as conn:
            trade = load(conn, "out_trade_no", out_trade_no, now)
            if trade is None:
                raise order_not_exist()
            if self._faults.chance("close_unknown_rate"):
                raise system_error()
            if trade["trade_state"] in PAID:
                raise WechatError(400, "ORDERPAID", "订单已支付 (the order is paid)")
            if (
                trade["trade_state"] != "CLOSED"
                and now < trade["created_at"] + self._close_not_before
            ):
                raise invalid_request(
                    "订单生成后不能马上调用关单接口 (no close within"
                    f" {self._close_not_before:g} s of the order)"
                )
            if trade["trade_state"] != "CLOSED":
                conn.execute(
                    "UPDATE trades SET trade_state = 'CLOSED', closed_at = ? WHERE id = ?",
                    (now, trade["id"]),
                )

    def pay(self, column: str, value: str, outcome: str = "SUCCESS") -> sqlite3.Row:
        """The buyer pays (or the payment fails, outcome PAYERROR); 409 when not payable."""
        now = clock.now()
        with self._store.transaction() as conn:
            trade = load(conn, column, value, now)
            if trade is None:
                raise order_not_exist()
            if trade["trade_state"] in PAID:
                raise WechatError(409, "ORDERPAID", "this order is already paid")
            if trade["trade_state"] == "CLOSED" and not self._faults.flag("pay_after_expire"):
                raise WechatError(409, "ORDER_CLOSED", "this order is closed or expired")
            if outcome == "PAYERROR":
                conn.execute(
                    "UPDATE trades SET trade_state = 'PAYERROR' WHERE id = ?", (trade["id"],)
                )
                return load(conn, column, value, now)
            conn.execute(
                "UPDATE trades SET trade_state = 'SUCCESS', paid_at = ?, transaction_id = ?,"
                " payer_openid = ? WHERE id = ?",
                (now, _transaction_id(now), "o" + secrets.token_urlsafe(20), trade["id"]),
            )
            trade = load(conn, column, value, now)
            self._notifier.enqueue(
                conn,
                event_type="TRANSACTION.SUCCESS",
                subject=trade["out_trade_no"],
                url=trade["notify_url"],
                resource=view(trade),
                original_type="transaction",
                at=now,
            )
        self._notifier.wake()
        return trade

    def for_wallet(self, prepay_id: str) -> sqlite3.Row | None:
        with self._store.transaction() as conn:
            return load(conn, "prepay_id", prepay_id, clock.now())

    def _order(self, trade_type: str, body: dict[str, Any]) -> dict[str, Any]:
        appid = validation.text(body, "appid", 32)
        mchid = validation.text(body, "mchid", 32)
        if mchid != self._keys.mchid:
            raise WechatError(400, "MCH_NOT_EXISTS", "商户号不存在 (no such mchid)")
        if appid != self._keys.appid:
            raise WechatError(400, "APPID_MCHID_NOT_MATCH", "appid和mchid不匹配")
        amount = validation.amount_object(body)
        order = {
            "trade_type": trade_type,
            "appid": appid,
            "mchid": mchid,
            "out_trade_no": validation.out_trade_no(body.get("out_trade_no")),
            "description": validation.text(body, "description", 127),
            "attach": validation.text(body, "attach", 128, required=False),
            "notify_url": validation.http_url(body, "notify_url"),
            "total": validation.fen(amount, "total", "amount"),
            "currency": amount.get("currency", "CNY"),
            "time_expire": validation.rfc3339(body, "time_expire"),
        }
        if trade_type == "H5":
            scene = body.get("scene_info")
            if not isinstance(scene, dict):
                raise param_error("scene_info is required for H5 orders")
            validation.text(scene, "payer_client_ip", 45)
            h5_info = scene.get("h5_info")
            if not (isinstance(h5_info, dict) and h5_info.get("type") in H5_TYPES):
                raise param_error(f"scene_info.h5_info.type must be one of {', '.join(H5_TYPES)}")
        # A repeat of the same order is answered as the first; anything else reuses the number.
        order["fingerprint"] = json.dumps(
            {key: value for key, value in order.items() if key != "out_trade_no"}, sort_keys=True
        )
        return order

    def _repeat(self, trade: sqlite3.Row, order: dict[str, Any]) -> dict[str, str]:
        if trade["fingerprint"] != order["fingerprint"]:
            raise invalid_request(
                "OUT_TRADE_NO_USED: 商户订单号重复 (out_trade_no was used with other parameters)"
            )
        if trade["trade_state"] in PAID:
            raise WechatError(400, "ORDERPAID", "订单已支付 (the order is paid)")
        if trade["trade_state"] == "CLOSED":
            raise WechatError(400, "ORDER_CLOSED", "订单已关闭 (the order is closed)")
        return self._pay_action(trade)

    def _pay_action(self, trade: sqlite3.Row) -> dict[str, str]:
        wallet = f"{self._public_url}/_emulator/wallet/{trade['prepay_id']}"
        if trade["trade_type"] == "NATIVE":
            return {"code_url": wallet}
        # Like WeChat's checkmweb URL it has a query, so the merchant appends &redirect_url=…
        return {"h5_url": f"{wallet}?package={trade['id']}"}

    def _check_mchid(self, mchid: Any) -> None:
        if mchid != self._keys.mchid:
            raise param_error("mchid is missing or is not this merchant")


def _prepay_id(now: float) -> str:
    return f"wx{datetime.fromtimestamp(now, clock.BEIJING):%d%H%M%S}{secrets.token_hex(12)}"


def _transaction_id(now: float) -> str:
    return (
        f"4200{datetime.fromtimestamp(now, clock.BEIJING):%Y%m%d}{secrets.randbelow(10**16):016d}"
    )
