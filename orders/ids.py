"""Identifiers: prefixed random public ids, and the numbers we send to channels."""

import re
import secrets

from django.utils import timezone

# Every id and channel number we issue is ASCII letters, digits and "_", at most 64 long.
ID_PATTERN = re.compile(r"[A-Za-z0-9_]{1,64}")


def is_id_shaped(value: str) -> bool:
    """Could this be one of our ids? One that is not cannot exist, so a lookup can answer
    "not found" without asking PostgreSQL (whose text cannot hold a NUL byte: the query would
    fail instead of finding nothing)."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def new_channel_number(prefix: str) -> str:
    """A channel-safe number (letters and digits, 29 chars: fits Alipay, WeChat, UnionPay)."""
    return f"{prefix}{timezone.now():%Y%m%d}{secrets.token_hex(10)}"
