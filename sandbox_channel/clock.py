"""Time helpers: the store keeps epoch seconds (UTC), the API speaks ISO-8601 with an offset."""

import time
from datetime import UTC, date, datetime


def now() -> float:
    return time.time()


def iso(timestamp: float | None, timespec: str = "seconds") -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec=timespec)


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601 datetime; raises ValueError unless it carries an offset."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("datetime without a UTC offset")
    return moment.timestamp()


def utc_day_bounds(day: date) -> tuple[float, float]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return start, start + 86400
