"""Trades: pre-created QR trades and WAP trades, query, close, the buyer's payment, with expiry.

A pre-created trade is lazy, as at Alipay: until the buyer opens its QR code (the wallet page) or
pays, query, close and refund answer ``ACQ.TRADE_NOT_EXIST``, yet the code stays payable until
``time_expire``. Every load first applies expiry (an unpaid trade past ``time_expire`` becomes
TRADE_CLOSED and stays so), which is how Alipay behaves without a timer per trade.
"""

import json
import secrets
import sqlite3
from datetime import datetime
from typing import Any

from sandbox_channel.faults import Faults

from . import clock, validation
from .errors import business, invalid_parameter, system_error, trade_not_exist
from .keys import Keys
from .notifier import Notifier
from .store import Store

DEFAULT_TIME_TO_EXPIRE = 2 * 3600  # a pre-created QR code lives two hours
MAX_TIME_TO_EXPIRE = 15 * 86400
PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
QR = "FACE_TO_FACE_PAYMENT"
WAP = "QUICK_WAP_WAY"
WAP_PRODUCT_CODES = (WAP, "QUICK_WAP_PAY")  # python-alipay-sdk sends the latter; Alipay takes it
LOOKUP_COLUMNS = ("out_trade_no", "trade_no", "wallet_id")

_EXPIRE = (
    "UPDATE trades SET trade_status = 'TRADE_CLOSED', closed_at = time_expire"
    " WHERE trade_status = 'WAIT_BUYER_PAY' AND time_expire <= ? AND {column} = ?"
)


def load(conn: sqlite3.Connection, column: str, value: str, now: float) -> sqlite3.Row | None:
    if column not in LOOKUP_COLUMNS:
        raise ValueError(column)
    conn.execute(_EXPIRE.format(column=column), (now, value))
    return conn.execute(f"SELECT * FROM trades WHERE {column} = ?", (value,)).fetchone()  # noqa: S608


def load_visible(conn: sqlite3.Connection, biz: dict[str, Any], now: float) -> sqlite3.Row:
    """The trade ``trade_no`` or ``out_trade_no`` names, as the merchant's API may see it."""
    trade_no = biz.get("trade_no")
    if trade_no is not None:
        if not (isinstance(trade_no, str) and validation.OUT_NO.fullmatch(trade_no)):
            raise invalid_parameter("trade_no must be Alipay's trade number")
        trade = load(conn, "trade_no", trade_no, now)
    else:
        out_trade_no = validation.out_no(biz, "out_trade_no")
        trade = load(conn, "out_trade_no", out_trade_no, now)
    if trade is None or not trade["opened"]:
        raise trade_not_exist()
    return trade


def notify_params(trade: sqlite3.Row, keys: Keys) -> dict[str, str]:
    """The trade as an async notify shows it (before notify_id, notify_time and sign)."""
    total = validation.yuan(trade["total"])
    params = {
        "notify_type": "trade_status_sync",
        "app_id": keys.app_id,
        "auth_app_id": keys.app_id,
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "trade_no": trade["trade_no"],
        "out_trade_no": trade["out_trade_no"],
        "seller_id": keys.seller_id,
        "buyer_id": trade["buyer_user_id"],
        "buyer_logon_id": trade["buyer_logon_id"],
        "trade_status": trade["trade_status"],
        "total_amount": total,
        "receipt_amount": total,
        "invoice_amount": total,
        "buyer_pay_amount": total,
        "point_amount": "0.00",
        "subject": trade["subject"],
        "body": trade["body"],
        "gmt_create": clock.china_time(trade["created_at"]),
        "gmt_payment": clock.china_time(trade["paid_at"]),
        "fund_bill_list": json.dumps(
            [{"amount": total, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
        ),
    }
    if trade["closed_at"] is not None:
        params["gmt_close"] = clock.china_time(trade["closed_at"])
    return {key: value for key, value in params.items() if value}


class Trades:
    def __init__(
        self,
        store: Store,
        faults: Faults,
        keys: Keys,
        public_url: str,
        notifier: Notifier,
        min_expire_seconds: float,
    ):
        self._store = store
        self._faults = faults
        self._keys = keys
        self._public_url = public_url.rstrip("/")
        self._notifier = notifier
        self._min_expire = min_expire_seconds

    def precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, str]:
        """``alipay.trade.precreate``: the QR code; the trade itself exists once it is opened."""
        trade = self._create(QR, biz, params)
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade["out_trade_no"],
            "qr_code": self.wallet_url(trade),
        }

    def wap_pay(self, biz: dict[str, Any], params: dict[str, str]) -> sqlite3.Row:
        """``alipay.trade.wap.pay``: the buyer's browser is at the cashier, so the trade exists."""
        if biz.get("product_code", WAP) not in WAP_PRODUCT_CODES:
            raise invalid_parameter(f"product_code must be {WAP}")
        trade = self._create(WAP, biz, params)
        return self.open(trade["wallet_id"])

    def query(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self._store.transaction() as conn:
            trade = load_visible(conn, biz, clock.now())
        status = trade["trade_status"]
        if status in PAID and self._faults.chance("query_stale_rate"):
            status = "WAIT_BUYER_PAY"
        total = validation.yuan(trade["total"])
        paid = status in PAID or (status == "TRADE_CLOSED" and trade["paid_at"] is not None)
        answer: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
            "buyer_logon_id": trade["buyer_logon_id"],
            "trade_status": status,
            "total_amount": total,
            "buyer_pay_amount": total if paid else "0.00",
            "point_amount": "0.00",
            "invoice_amount": total if paid else "0.00",
            "receipt_amount": total if paid else "0.00",
        }
        if paid:
            answer.update(
                send_pay_date=clock.china_time(trade["paid_at"]),
                buyer_user_id=trade["buyer_user_id"],
                fund_bill_list=[{"amount": total, "fund_channel": "ALIPAYACCOUNT"}],
            )
        return {key: value for key, value in answer.items() if value is not None}

    def close(self, biz: dict[str, Any]) -> dict[str, str]:
        now = clock.now()
        with self._store.transaction() as conn:
            trade = load_visible(conn, biz, now)
            if self._faults.chance("close_unknown_rate"):
                raise system_error()
            if trade["trade_status"] != "WAIT_BUYER_PAY":
                raise business(
                    "ACQ.TRADE_STATUS_ERROR", "交易状态不合法 (only a waiting trade can be closed)"
                )
            conn.execute(
                "UPDATE trades SET trade_status = 'TRADE_CLOSED', closed_at = ? WHERE id = ?",
                (now, trade["id"]),
            )
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
        }

    def open(self, wallet_id: str) -> sqlite3.Row | None:
        """The buyer opens the QR code (or reaches the WAP cashier): now the trade exists."""
        now = clock.now()
        with self._store.transaction() as conn:
            trade = load(conn, "wallet_id", wallet_id, now)
            if trade is None or trade["opened"]:
                return trade
            if trade["trade_status"] == "TRADE_CLOSED" and not self._faults.flag(
                "pay_after_expire"
            ):
                return trade  # an expired code, never scanned: it never became a trade
            self._mark_opened(conn, trade["id"], now)
            return load(conn, "wallet_id", wallet_id, now)

    def pay(self, column: str, value: str) -> sqlite3.Row:
        """The buyer pays; AlipayError when the trade is missing or not payable."""
        now = clock.now()
        with self._store.transaction() as conn:
            trade = load(conn, column, value, now)
            if trade is None:
                raise trade_not_exist()
            if trade["trade_status"] in PAID:
                raise business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade["trade_status"] == "TRADE_CLOSED" and not (
                trade["paid_at"] is None and self._faults.flag("pay_after_expire")
            ):
                raise business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if not trade["opened"]:
                self._mark_opened(conn, trade["id"], now)
            conn.execute(
                "UPDATE trades SET trade_status = 'TRADE_SUCCESS', paid_at = ?, closed_at = NULL"
                " WHERE id = ?",
                (now, trade["id"]),
            )
            trade = load(conn, column, value, now)
            self._notify(conn, trade, {}, now)
        self._notifier.wake()
        return trade

    def finish(self, out_trade_no: str) -> sqlite3.Row:
        """The refund period ends: TRADE_SUCCESS becomes TRADE_FINISHED, with its notify."""
        now = clock.now()
        with self._store.transaction() as conn:
            trade = load(conn, "out_trade_no", out_trade_no, now)
            if trade is None:
                raise trade_not_exist()
            if trade["trade_status"] != "TRADE_SUCCESS":
                raise business("ACQ.TRADE_STATUS_ERROR", "only a TRADE_SUCCESS trade can finish")
            conn.execute(
                "UPDATE trades SET trade_status = 'TRADE_FINISHED' WHERE id = ?", (trade["id"],)
            )
            trade = load(conn, "out_trade_no", out_trade_no, now)
            self._notify(conn, trade, {}, now)
        self._notifier.wake()
        return trade

    def for_wallet(self, wallet_id: str) -> sqlite3.Row | None:
        with self._store.transaction() as conn:
            return load(conn, "wallet_id", wallet_id, clock.now())

    def wallet_url(self, trade: sqlite3.Row) -> str:
        return f"{self._public_url}/_emulator/wallet/{trade['wallet_id']}"

    def _notify(
        self, conn: sqlite3.Connection, trade: sqlite3.Row, extra: dict[str, str], now: float
    ) -> None:
        if trade["notify_url"]:
            self._notifier.enqueue(
                conn,
                subject=trade["out_trade_no"],
                url=trade["notify_url"],
                params={**notify_params(trade, self._keys), **extra},
                at=now,
            )

    def _create(
        self, product_code: str, biz: dict[str, Any], params: dict[str, str]
    ) -> sqlite3.Row:
        order = self._order(product_code, biz, params)
        now = clock.now()
        with self._store.transaction() as conn:
            existing = load(conn, "out_trade_no", order["out_trade_no"], now)
            if existing is not None:
                return self._repeat(existing, order)
            # The absolute time_expire wins over the relative timeout_express.
            time_expire = order["time_expire"]
            if time_expire is None and order["timeout_express"] is not None:
                time_expire = validation.expiry_of_timeout_express(order["timeout_express"], now)
            if time_expire is None:
                time_expire = now + DEFAULT_TIME_TO_EXPIRE
            elif time_expire < now + self._min_expire:
                raise invalid_parameter(f"the trade must live at least {self._min_expire:g} s")
            elif time_expire > now + MAX_TIME_TO_EXPIRE:
                raise invalid_parameter("the trade must expire within 15 days")
            conn.execute(
                "INSERT INTO trades (out_trade_no, trade_no, wallet_id, product_code, trade_status,"
                " opened, subject, body, notify_url, return_url, quit_url, total, fingerprint,"
                " time_expire, created_at)"
                " VALUES (:out_trade_no, :trade_no, :wallet_id, :product_code, 'WAIT_BUYER_PAY',"
                " 0, :subject, :body, :notify_url, :return_url, :quit_url, :total, :fingerprint,"
                " :time_expire, :created_at)",
                {
                    **order,
                    "trade_no": _trade_no(now),
                    "wallet_id": secrets.token_urlsafe(18),
                    "time_expire": time_expire,
                    "created_at": now,
                },
            )
            return load(conn, "out_trade_no", order["out_trade_no"], now)

    def _order(self, product_code: str, biz: dict[str, Any], params: dict[str, str]) -> dict:
        order = {
            "product_code": product_code,
            "out_trade_no": validation.out_no(biz, "out_trade_no"),
            "subject": validation.subject(biz),
            "body": validation.text(biz, "body", 128, required=False),
            "total": validation.fen(biz, "total_amount"),
            "time_expire": validation.china_time(biz, "time_expire"),
            "timeout_express": validation.timeout_express(biz),
            "notify_url": validation.http_url(params, "notify_url"),
            "return_url": validation.http_url(params, "return_url"),
            "quit_url": validation.http_url(biz, "quit_url"),
        }
        # A repeat of the same order is answered as the first; anything else reuses the number.
        order["fingerprint"] = json.dumps(
            {key: value for key, value in order.items() if key != "out_trade_no"}, sort_keys=True
        )
        return order

    def _repeat(self, trade: sqlite3.Row, order: dict[str, Any]) -> sqlite3.Row:
        if trade["fingerprint"] != order["fingerprint"]:
            raise business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改 (out_trade_no reused)")
        if trade["trade_status"] in PAID:
            raise business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if trade["trade_status"] == "TRADE_CLOSED":
            raise business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        return trade

    @staticmethod
    def _mark_opened(conn: sqlite3.Connection, trade_id: int, now: float) -> None:
        conn.execute(
            "UPDATE trades SET opened = 1, buyer_user_id = ?, buyer_logon_id = ? WHERE id = ?",
            (
                f"2088{secrets.randbelow(10**12):012d}",
                f"{secrets.choice('abcdefghkmnpqrstuvwxyz')}**@example.com",
                trade_id,
            ),
        )


def _trade_no(now: float) -> str:
    return f"{datetime.fromtimestamp(now, clock.BEIJING):%Y%m%d}22{secrets.randbelow(10**18):018d}"
