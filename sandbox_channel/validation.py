"""Field checks for request bodies: every bad input becomes a 400, never a 500."""

import re
from typing import Any
from urllib.parse import urlsplit

from . import clock
from .errors import invalid

# Real channels cap merchant numbers at 32-64 characters of a URL-safe alphabet; the number is
# also a path segment of this API.
MERCHANT_NO = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_AMOUNT = 10**15


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def merchant_no(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not (isinstance(value, str) and MERCHANT_NO.fullmatch(value)):
        raise invalid(f"{key} must be 1-64 characters of letters, digits, '_', '-' or '.'")
    return value


def amount(body: dict[str, Any], key: str = "amount") -> int:
    value = body.get(key)
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_AMOUNT):
        raise invalid(f"{key} must be a positive integer in minor units")
    return value


def currency(body: dict[str, Any]) -> str:
    value = body.get("currency")
    if not (isinstance(value, str) and CURRENCY.fullmatch(value)):
        raise invalid("currency must be three upper-case letters (ISO 4217)")
    return value


def text(body: dict[str, Any], key: str, max_length: int) -> str:
    value = body.get(key)
    if not (isinstance(value, str) and value.strip() and len(value) <= max_length):
        raise invalid(f"{key} must be a non-empty string of at most {max_length} characters")
    return value


def http_url(body: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    # Only http(s): the wallet page links to return_url, so anything else would be injectable.
    if isinstance(value, str) and len(value) <= 2048:
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return value
    raise invalid(f"{key} must be an absolute http(s) URL")


def timestamp(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    try:
        if isinstance(value, str):
            return clock.parse_iso(value)
    except ValueError:
        pass
    raise invalid(f"{key} must be an ISO-8601 datetime with a UTC offset")
