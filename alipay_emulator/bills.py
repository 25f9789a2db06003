# Alipay's bill text is Chinese with full-width punctuation, byte for byte.
# ruff: noqa: RUF001
"""Trade bills: ``alipay.data.dataservice.bill.downloadurl.query`` and the zip its URL serves.

The zip holds two GBK CSV files, as Alipay's does: ``<pid>_<date>_业务明细.csv`` (one line per
payment and per refund of the day or month, China time) and ``<pid>_<date>_业务明细(汇总).csv``,
each framed by ``#`` comment lines. Identifiers end in a tab, Alipay's guard against spreadsheets
reading them as numbers. The service fee is 0.6 %, rounded half up to the fen.
"""

import io
import re
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from . import clock
from .errors import business, invalid_parameter
from .keys import Keys
from .store import Store
from .validation import yuan

DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
MONTH = re.compile(r"(\d{4})-(\d{2})")
FEE_PER_MILLE = 6
RULE = "-" * 41
DETAIL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)
SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
    "支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)


@dataclass(frozen=True)
class Download:
    content: bytes
    file_name: str
    expires_at: float


def service_fee(amount: int) -> int:
    return (amount * FEE_PER_MILLE + 500) // 1000


def _free_text(value: str) -> str:
    # The bill is not RFC 4180 CSV (no quoting), so separators inside free text are blanked.
    return value.replace(",", " ").replace("\r", " ").replace("\n", " ")


class Bills:
    def __init__(self, store: Store, keys: Keys, public_url: str, url_ttl: float):
        self._store = store
        self._keys = keys
        self._public_url = public_url.rstrip("/")
        self._ttl = url_ttl
        self._downloads: dict[str, Download] = {}
        self._guard = threading.Lock()

    def download_url(self, biz: dict[str, Any]) -> dict[str, str]:
        bill_type = biz.get("bill_type")
        if bill_type != "trade":
            raise invalid_parameter('bill_type must be "trade" (signcustomer is not emulated)')
        bill_date = biz.get("bill_date")
        start, end, label = _period(bill_date)
        content = self._zip(start, end, label)
        token = secrets.token_urlsafe(24)
        file_name = f"{self._keys.seller_id}_{label}.csv.zip"
        now = time.monotonic()
        with self._guard:
            for stale in [key for key, item in self._downloads.items() if item.expires_at < now]:
                del self._downloads[stale]
            self._downloads[token] = Download(content, file_name, now + self._ttl)
        return {
            "code": "10000",
            "msg": "Success",
            "bill_download_url": f"{self._public_url}/downloadBillFile.resource?bizType=trade"
            f"&userId={self._keys.seller_id}&fileType=csv.zip&bizDates={label}"
            f"&downloadFileName={file_name}&token={token}",
        }

    def download(self, token: str | None) -> Download | None:
        with self._guard:
            item = self._downloads.get(token or "")
        if item is None or item.expires_at < time.monotonic():
            return None
        return item

    def _zip(self, start: float, end: float, label: str) -> bytes:
        with self._store.transaction() as conn:
            payments = conn.execute(
                "SELECT * FROM trades WHERE paid_at >= ? AND paid_at < ? ORDER BY paid_at, id",
                (start, end),
            ).fetchall()
            refunds = conn.execute(
                "SELECT refunds.*, trades.trade_no, trades.out_trade_no, trades.subject,"
                " trades.created_at, trades.buyer_logon_id, trades.total FROM refunds"
                " JOIN trades ON trades.id = refunds.trade_id"
                " WHERE refunded_at >= ? AND refunded_at < ? ORDER BY refunded_at, refunds.id",
                (start, end),
            ).fetchall()
        lines = [(trade["paid_at"], _payment_line(trade)) for trade in payments]
        lines += [(refund["refunded_at"], _refund_line(refund)) for refund in refunds]
        lines.sort(key=lambda item: item[0])
        received = sum(t["total"] for t in payments) - sum(r["amount"] for r in refunds)
        fees = sum(service_fee(t["total"]) for t in payments) - sum(
            service_fee(r["amount"]) for r in refunds
        )
        period = f"#起始日期：[{_cn(start)}]   终止日期：[{_cn(end)}]"
        account = f"#账号：[{self._keys.seller_id}0156]"
        exported = f"#导出时间：[{_cn(time.time())}]"
        detail = [
            "#支付宝业务明细查询",
            account,
            period,
            f"#{RULE}业务明细列表{RULE}",
            DETAIL_HEADER,
            *(line for _, line in lines),
            f"#{RULE}业务明细列表结束{RULE}",
            f"#交易合计：{len(payments)}笔，退款合计：{len(refunds)}笔",
            exported,
        ]
        summary = [
            "#支付宝业务汇总查询",
            account,
            period,
            f"#{RULE}业务汇总列表{RULE}",
            SUMMARY_HEADER,
            ",".join(
                [
                    "合计",
                    "",
                    str(len(payments)),
                    str(len(refunds)),
                    yuan(sum(t["total"] for t in payments)),
                    _signed_yuan(received),
                    "0.00",
                    "0.00",
                    "0.00",
                    _signed_yuan(-fees),
                    "0.00",
                    _signed_yuan(received - fees),
                ]
            ),
            f"#{RULE}业务汇总列表结束{RULE}",
            exported,
        ]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, rows in (("业务明细", detail), ("业务明细(汇总)", summary)):
                text = "\r\n".join(rows) + "\r\n"
                archive.writestr(
                    f"{self._keys.seller_id}_{label}_{name}.csv",
                    text.encode("gbk", errors="replace"),
                )
        return buffer.getvalue()


def _period(value: Any) -> tuple[float, float, str]:
    """The bill's bounds (China time) and its label: yyyy-MM-dd is a day, yyyy-MM a month."""
    text = value if isinstance(value, str) else ""
    try:
        if day_match := DAY.fullmatch(text):
            day = date(*(int(part) for part in day_match.groups()))
            start, end = clock.beijing_day_bounds(day)
            label = f"{day:%Y%m%d}"
        elif month_match := MONTH.fullmatch(text):
            year, month = (int(part) for part in month_match.groups())
            start, end = clock.month_bounds(year, month)
            label = f"{year:04d}{month:02d}"
        else:
            raise ValueError(text)
    except ValueError:
        raise invalid_parameter("bill_date must be yyyy-MM-dd or yyyy-MM") from None
    if start > time.time():
        raise business("isp.bill_not_exist", "账单不存在 (the period has not begun)")
    return start, end, label


def _cn(timestamp: float) -> str:
    return f"{datetime.fromtimestamp(int(timestamp), clock.BEIJING):%Y年%m月%d日 %H:%M:%S}"


def _signed_yuan(amount: int) -> str:
    return ("-" if amount < 0 else "") + yuan(abs(amount))


def _payment_line(trade) -> str:
    return _line(
        trade["trade_no"],
        trade["out_trade_no"],
        "交易",
        trade["subject"],
        trade["created_at"],
        trade["paid_at"],
        trade["buyer_logon_id"],
        yuan(trade["total"]),
        yuan(trade["total"]),
        "",
        _signed_yuan(-service_fee(trade["total"])),
    )


def _refund_line(refund) -> str:
    return _line(
        refund["trade_no"],
        refund["out_trade_no"],
        "退款",
        refund["subject"],
        refund["created_at"],
        refund["refunded_at"],
        refund["buyer_logon_id"],
        yuan(refund["total"]),
        _signed_yuan(-refund["amount"]),
        refund["out_request_no"],
        yuan(service_fee(refund["amount"])),
    )


def _line(
    trade_no: str,
    out_trade_no: str,
    kind: str,
    subject: str,
    created_at: float,
    done_at: float,
    buyer: str | None,
    ordered: str,
    received: str,
    request_no: str,
    fee: str,
) -> str:
    fields = [
        f"{trade_no}\t",
        f"{out_trade_no}\t",
        kind,
        _free_text(subject),
        clock.china_time(created_at),
        clock.china_time(done_at),
        "",
        "",
        "",
        "",
        buyer or "",
        ordered,
        received,
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
        "0.00",
        "0.00",
        f"{request_no}\t" if request_no else "",
        fee,
        "0.00",
        "",
    ]
    return ",".join(fields)
