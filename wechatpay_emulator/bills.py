"""Trade bills: WeChat's daily CSV layout, served by a short-lived signed download URL.

Lines are a header, one detail line per payment that succeeded that Beijing day and per refund
that succeeded that day, then a summary header and a summary line. Each detail field starts with a
backquote (WeChat's guard against spreadsheets reading numbers as scientific notation). Amounts
are yuan with two decimals. The fee (手续费) is WeChat's: the rate (0.6 % unless configured) of
each line's amount, rounded half up to the fen per transaction, written as yuan with five
decimals (``0.74000``); a refund gives back the fee of its own amount (negative); the summary's
手续费总金额 is the sum of the lines' fees.
"""

import gzip
import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import clock
from .errors import WechatError, param_error
from .store import Store

BILL_TYPES = ("ALL", "SUCCESS", "REFUND")
MAX_AGE_DAYS = 92  # WeChat serves bills of the last three months
DOWNLOAD_TTL = 300.0  # WeChat's download URLs live five minutes
DEFAULT_FEE_RATE = Decimal("0.006")  # 0.60 %, WeChat's usual rate
HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
    "费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


@dataclass(frozen=True)
class Download:
    content: bytes
    gzipped: bool
    expires_at: float


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    units, cents = divmod(abs(fen), 100)
    return f"{sign}{units}.{cents:02d}"


def fee_fen(amount: int, rate: Decimal) -> int:
    """The fee of one transaction: rounded half up to the fen, as WeChat settles it."""
    return int((amount * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fee_text(fen: int) -> str:
    """A fee as the bill writes it: yuan with five decimals (whole fen, so ``0.74000``)."""
    return yuan(fen) + "000"


def rate_text(rate: Decimal) -> str:
    return f"{rate * 100:.2f}%"


def _free_text(value: str) -> str:
    # The bill is not RFC 4180 CSV (no quoting), so separators inside free text are blanked.
    return value.replace(",", " ").replace("\r", " ").replace("\n", " ").replace("`", "'")


class Bills:
    def __init__(
        self,
        store: Store,
        public_url: str,
        *,
        settle_due: Callable[[sqlite3.Connection, float], object],
        fee_rate: Decimal = DEFAULT_FEE_RATE,
    ):
        self._store = store
        # Refunds.settle_due: a refund due to settle is settled before the bill is built, as
        # every read of it does, whether or not the notifier's loop has run since.
        self._settle_due = settle_due
        # Test door: fen added to the summary's 手续费总金额, so it disagrees with the lines.
        self._fee_total_offset = 0
        self._fee_rate = fee_rate
        self._public_url = public_url.rstrip("/")
        self._downloads: dict[str, Download] = {}
        self._guard = threading.Lock()

    def apply(self, query: dict[str, str]) -> dict[str, str]:
        """``GET /v3/bill/tradebill``: the download URL and the SHA1 of the uncompressed bill."""
        day = _bill_date(query.get("bill_date"))
        bill_type = query.get("bill_type", "ALL")
        if bill_type not in BILL_TYPES:
            raise param_error(f"bill_type must be one of {', '.join(BILL_TYPES)}")
        tar_type = query.get("tar_type")
        if tar_type not in (None, "GZIP"):
            raise param_error("tar_type must be GZIP or absent")
        text = self.bill_text(day, bill_type)
        if text is None:
            raise WechatError(400, "NO_STATEMENT_EXIST", "当日无账单 (no bill for this day)")
        raw = text.encode()
        content = gzip.compress(raw, mtime=0) if tar_type else raw
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._guard:
            for stale in [key for key, item in self._downloads.items() if item.expires_at < now]:
                del self._downloads[stale]
            self._downloads[token] = Download(content, bool(tar_type), now + DOWNLOAD_TTL)
        return {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(raw).hexdigest(),  # noqa: S324 (WeChat's choice)
            "download_url": f"{self._public_url}/v3/billdownload/file?token={token}",
        }

    def misstate_fee_total(self, body: dict) -> dict[str, int]:
        """Test door: every bill from now on states its fee total off by ``fee_total_offset``
        fen (0: the lines' sum again), as a channel whose summary disagrees with its lines."""
        offset = body.get("fee_total_offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 10**12:
            raise param_error("fee_total_offset must be an integer number of fen")
        self._fee_total_offset = offset
        return {"fee_total_offset": offset}

    def download(self, token: str | None) -> Download:
        with self._guard:
            item = self._downloads.get(token or "")
        if item is None or item.expires_at < time.monotonic():
            raise WechatError(400, "INVALID_REQUEST", "the download URL is unknown or expired")
        return item

    def bill_text(self, day: date, bill_type: str) -> str | None:
        start, end = clock.beijing_day_bounds(day)
        with self._store.transaction() as conn:
            self._settle_due(conn, clock.now())
            payments = conn.execute(
                "SELECT * FROM trades WHERE paid_at >= ? AND paid_at < ? ORDER BY paid_at, id",
                (start, end),
            ).fetchall()
            refunds = conn.execute(
                "SELECT refunds.*, trades.appid, trades.mchid, trades.transaction_id,"
                " trades.out_trade_no, trades.payer_openid, trades.trade_type, trades.currency,"
                " trades.description, trades.attach, trades.total FROM refunds"
                " JOIN trades ON trades.id = refunds.trade_id WHERE status = 'SUCCESS'"
                " AND success_time >= ? AND success_time < ? ORDER BY success_time",
                (start, end),
            ).fetchall()
        lines: list[tuple[float, list[str]]] = []
        totals = {"count": 0, "settled": 0, "refunded": 0, "fee": 0, "ordered": 0}
        rate = self._fee_rate
        if bill_type in ("ALL", "SUCCESS"):
            for trade in payments:
                fee = fee_fen(trade["total"], rate)
                lines.append((trade["paid_at"], _payment_line(trade, fee, rate)))
                totals["settled"] += trade["total"]
                totals["ordered"] += trade["total"]
                totals["fee"] += fee
        if bill_type in ("ALL", "REFUND"):
            for refund in refunds:
                fee = -fee_fen(refund["refund"], rate)  # the refund's share of the fee comes back
                lines.append((refund["success_time"], _refund_line(refund, fee, rate)))
                totals["refunded"] += refund["refund"]
                totals["fee"] += fee
        if not lines:
            return None
        totals["count"] = len(lines)
        lines.sort(key=lambda item: item[0])
        summary = [
            str(totals["count"]),
            yuan(totals["settled"]),
            yuan(totals["refunded"]),
            "0.00",
            fee_text(totals["fee"] + self._fee_total_offset),
            yuan(totals["ordered"]),
            yuan(totals["refunded"]),
        ]
        rows = [HEADER, *(_detail(fields) for _, fields in lines), SUMMARY_HEADER]
        rows.append(_detail(summary))
        return "\r\n".join(rows) + "\r\n"


def _detail(fields: list[str]) -> str:
    return ",".join("`" + field for field in fields)


def _common(row, state: str) -> list[str]:
    return [
        row["appid"],
        row["mchid"],
        "0",
        "",
        row["transaction_id"],
        row["out_trade_no"],
        row["payer_openid"],
        row["trade_type"],
        state,
        "OTHERS",
        row["currency"],
    ]


def _payment_line(trade, fee: int, rate: Decimal) -> list[str]:
    return [
        clock.bill_time(trade["paid_at"]),
        *_common(trade, "SUCCESS"),
        yuan(trade["total"]),
        "0.00",
        "0",
        "0",
        "0.00",
        "0.00",
        "",
        "",
        _free_text(trade["description"]),
        _free_text(trade["attach"]),
        fee_text(fee),
        rate_text(rate),
        yuan(trade["total"]),
        "0.00",
        "",
    ]


def _refund_line(refund, fee: int, rate: Decimal) -> list[str]:
    return [
        clock.bill_time(refund["success_time"]),
        *_common(refund, "REFUND"),
        "0.00",
        "0.00",
        refund["refund_id"],
        refund["out_refund_no"],
        yuan(refund["refund"]),
        "0.00",
        "ORIGINAL",
        "SUCCESS",
        _free_text(refund["description"]),
        _free_text(refund["attach"]),
        fee_text(fee),
        rate_text(rate),
        "0.00",
        yuan(refund["refund"]),
        "",
    ]


def _bill_date(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise param_error("bill_date must be yyyy-MM-dd")
    today = clock.beijing_today()
    if day > today:
        raise param_error("bill_date must not be in the future")
    if day < today - timedelta(days=MAX_AGE_DAYS):
        raise param_error("only bills of the last three months can be downloaded")
    return day
