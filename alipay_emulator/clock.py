"""Time: the store keeps epoch seconds; Alipay speaks "yyyy-MM-dd HH:mm:ss" in China time."""

import time
from datetime import date, datetime

from wechatpay_emulator.clock import BEIJING, beijing_day_bounds, beijing_today

__all__ = [
    "BEIJING",
    "beijing_day_bounds",
    "beijing_today",
    "china_time",
    "china_time_millis",
    "now",
    "parse_china_time",
]

FORMAT = "%Y-%m-%d %H:%M:%S"


def now() -> float:
    return time.time()


def china_time(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), BEIJING).strftime(FORMAT)


def china_time_millis(timestamp: float) -> str:
    """ "yyyy-MM-dd HH:mm:ss.SSS": how Alipay writes a notify's gmt_refund."""
    moment = datetime.fromtimestamp(timestamp, BEIJING)
    return f"{moment:{FORMAT}}.{moment.microsecond // 1000:03d}"


def parse_china_time(text: str) -> float:
    """Epoch seconds of "yyyy-MM-dd HH:mm:ss" read as China time; ValueError otherwise."""
    if len(text) != 19:
        raise ValueError("not yyyy-MM-dd HH:mm:ss")
    return datetime.strptime(text, FORMAT).replace(tzinfo=BEIJING).timestamp()


def beijing_date(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, BEIJING).date()


def month_bounds(year: int, month: int) -> tuple[float, float]:
    start = beijing_day_bounds(date(year, month, 1))[0]
    following = date(year + month // 12, month % 12 + 1, 1)
    return start, beijing_day_bounds(following)[0]
