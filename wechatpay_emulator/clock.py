"""Time: the store keeps epoch seconds; WeChat speaks RFC 3339 in Beijing time (+08:00)."""

import time
from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def now() -> float:
    return time.time()


def rfc3339(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(int(timestamp), BEIJING).isoformat()


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of an RFC 3339 datetime; ValueError unless it is one, with an offset."""
    if "T" not in text:
        raise ValueError("not an RFC 3339 datetime")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("datetime without a UTC offset")
    return moment.timestamp()


def beijing_day_bounds(day: date) -> tuple[float, float]:
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp()
    return start, start + 86400


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


def bill_time(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), BEIJING).strftime("%Y-%m-%d %H:%M:%S")
