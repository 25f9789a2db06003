"""Reading what a channel sent: values checked before they reach our dataclasses (and
PostgreSQL), and the one rule that an answer of the wrong shape is no answer at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from payments.channels.base import ChannelUnavailable

# An amount must also fit the BIGINT columns it is kept in.
MAX_AMOUNT = 2**63 - 1
# What reading an answer of the wrong shape raises: missing keys, wrong types, bad values.
WRONG_SHAPE = (ValueError, TypeError, KeyError, AttributeError)


def translated(what: str, translate, *args):
    """An answer of the wrong shape is no answer: unknown (ChannelUnavailable), never a crash
    in whoever asked (checkout, sync, the pump)."""
    try:
        return translate(*args)
    except WRONG_SHAPE as error:
        raise ChannelUnavailable(f"{what}: answer of the wrong shape: {error!r}") from None


def aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"a time must say its time zone: {text!r}")
    return moment


def amount(value: Any) -> int | None:
    if value is not None and not (type(value) is int and 0 < value <= MAX_AMOUNT):
        raise ValueError(f"amount must be a positive integer, got {value!r}")
    return value


def text(value: Any) -> str:
    """A string we can keep: PostgreSQL text holds no NUL byte."""
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(f"expected text, got {value!r}")
    return value


def optional_text(value: Any) -> str | None:
    return None if value is None else text(value)
