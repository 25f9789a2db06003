"""Identifiers: prefixed random public ids, and the numbers we send to channels."""

import secrets

from django.utils import timezone


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def new_channel_number(prefix: str) -> str:
    """A channel-safe number (letters and digits, 29 chars: fits Alipay, WeChat, UnionPay)."""
    return f"{prefix}{timezone.now():%Y%m%d}{secrets.token_hex(10)}"
