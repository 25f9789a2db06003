"""Field checks for WeChat request bodies: every bad input is a 400 PARAM_ERROR, never a 500."""

import re
from typing import Any
from urllib.parse import urlsplit

from . import clock
from .errors import param_error

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
MAX_TOTAL = 10**10  # fen; far above any single WeChat payment
CURRENCIES = ("CNY",)  # domestic payments are in CNY only


def text(body: dict[str, Any], key: str, max_bytes: int, *, required: bool = True) -> str:
    value = body.get(key)
    if value in (None, "") and not required:
        return ""
    if not (isinstance(value, str) and value and len(value.encode()) <= max_bytes):
        raise param_error(f"{key} must be a string of 1-{max_bytes} bytes")
    if "\x00" in value:
        raise param_error(f"{key} must not contain NUL")
    return value


def pattern(body: dict[str, Any], key: str, regex: re.Pattern, rule: str) -> str:
    value = body.get(key)
    if not (isinstance(value, str) and regex.fullmatch(value)):
        raise param_error(f"{key} must be {rule}")
    return value


def out_trade_no(value: Any) -> str:
    return pattern({"out_trade_no": value}, "out_trade_no", OUT_TRADE_NO, "6-32 of [0-9A-Za-z_-|*]")


def out_refund_no(value: Any) -> str:
    return pattern(
        {"out_refund_no": value}, "out_refund_no", OUT_REFUND_NO, "1-64 of [0-9A-Za-z_-|*@]"
    )


def fen(container: dict[str, Any], key: str, where: str) -> int:
    value = container.get(key)
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_TOTAL):
        raise param_error(f"{where}.{key} must be a positive integer number of fen")
    return value


def amount_object(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("amount")
    if not isinstance(value, dict):
        raise param_error("amount must be an object")
    currency = value.get("currency", "CNY")
    if currency not in CURRENCIES:
        raise param_error(f"amount.currency must be one of {', '.join(CURRENCIES)}")
    return value


def http_url(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not (isinstance(value, str) and len(value) <= 256):
        raise param_error(f"{key} must be an absolute http(s) URL of at most 256 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise param_error(f"{key} must be an absolute http(s) URL of at most 256 characters")
    return value


def rfc3339(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return clock.parse_rfc3339(value)
        except ValueError:
            pass
    raise param_error(f"{key} must be RFC 3339 with an offset, e.g. 2025-06-08T10:34:56+08:00")
