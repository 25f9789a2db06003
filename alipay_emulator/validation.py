"""Field checks for ``biz_content`` and the notify/return URLs: every bad input is Alipay's
40004 ``ACQ.INVALID_PARAMETER``, never a 500. Amounts are yuan strings read exactly (Decimal)."""

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from . import clock
from .errors import invalid_parameter

OUT_NO = re.compile(r"[0-9A-Za-z_]{1,64}")
AMOUNT = re.compile(r"(0|[1-9][0-9]{0,8})\.[0-9]{2}")
MAX_FEN = 100_000_000 * 100  # Alipay's ceiling for one trade: 100,000,000.00 yuan
TIMEOUT_EXPRESS = re.compile(r"(?P<count>[1-9][0-9]{0,4})(?P<unit>[mhd])|1c")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
SUBJECT_FORBIDDEN = set("/=&")  # Alipay forbids these in subjects


def text(biz: dict[str, Any], key: str, max_chars: int, *, required: bool = True) -> str:
    value = biz.get(key)
    if value in (None, "") and not required:
        return ""
    if not (isinstance(value, str) and value.strip() and len(value) <= max_chars):
        raise invalid_parameter(f"{key} must be a string of 1-{max_chars} characters")
    if "\x00" in value:
        raise invalid_parameter(f"{key} must not contain NUL")
    return value


def subject(biz: dict[str, Any]) -> str:
    value = text(biz, "subject", 256)
    if SUBJECT_FORBIDDEN & set(value):
        raise invalid_parameter("subject must not contain / = or &")
    return value


def out_no(biz: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = biz.get(key)
    if value is None and not required:
        return None
    if not (isinstance(value, str) and OUT_NO.fullmatch(value)):
        raise invalid_parameter(f"{key} must be 1-64 letters, digits or _")
    return value


def fen(biz: dict[str, Any], key: str) -> int:
    """A yuan string with exactly two decimals ("12.34") as whole fen; nothing else passes."""
    value = biz.get(key)
    if not (isinstance(value, str) and AMOUNT.fullmatch(value)):
        raise invalid_parameter(f'{key} must be yuan with two decimals, e.g. "12.34"')
    amount = int(Decimal(value) * 100)
    if not 0 < amount <= MAX_FEN:
        raise invalid_parameter(f"{key} must be between 0.01 and 100000000.00")
    return amount


def yuan(amount: int) -> str:
    units, cents = divmod(amount, 100)
    return f"{units}.{cents:02d}"


def china_time(biz: dict[str, Any], key: str) -> float | None:
    value = biz.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return clock.parse_china_time(value)
        except ValueError:
            pass
    raise invalid_parameter(f"{key} must be yyyy-MM-dd HH:mm:ss in China time")


def timeout_express(biz: dict[str, Any]) -> str | None:
    """Alipay's relative expiry: ``90m``, ``2h``, ``3d``, or ``1c`` (until the end of the day)."""
    value = biz.get("timeout_express")
    if value is None:
        return None
    if not (isinstance(value, str) and TIMEOUT_EXPRESS.fullmatch(value)):
        raise invalid_parameter("timeout_express must be like 90m, 2h, 3d or 1c")
    return value


def expiry_of_timeout_express(value: str, now: float) -> float:
    match = TIMEOUT_EXPRESS.fullmatch(value)
    if match is None or match.group("count") is None:  # 1c: the end of the China day
        return clock.beijing_day_bounds(clock.beijing_date(now))[1]
    return now + int(match.group("count")) * UNIT_SECONDS[match.group("unit")]


def http_url(params: dict[str, str], key: str) -> str | None:
    value = params.get(key)
    if not value:
        return None
    try:
        parts = urlsplit(value)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= 256
    except ValueError:
        usable = False
    if not usable:
        raise invalid_parameter(f"{key} must be an absolute http(s) URL of at most 256 characters")
    return value
