"""Fault injection: the one JSON object set by ``POST /v1/faults`` and the dice it rolls.

Faults live in memory only, so a restart comes back well-behaved. With ``seed`` set, every
random choice comes from one seeded generator, so a given sequence of calls misbehaves the same
way on every run.
"""

import random
import threading
from enum import Enum
from typing import Any

from .errors import invalid

OPERATIONS = ("create", "query", "close", "refund", "refund_query", "statement")
PROBABILITIES = (
    "notify_drop",
    "notify_duplicate",
    "notify_amount_tamper_rate",
    "query_stale_rate",
    "close_unknown_rate",
    "refund_fail_rate",
    "refund_conflict_rate",
)
FLAGS = ("notify_reorder", "pay_after_expire", "refund_async", "lazy_trades")
PER_OPERATION = ("api_error_rate", "api_timeout_rate", "api_hang_rate", "bad_answer_rate")
DURATIONS_MS = {
    "hang_ms": 10_000,
    "hang_long_ms": 60_000,
    "reorder_window_ms": 500,
    "refund_async_ms": 3_000,
}
RANGES_MS = ("notify_delay_ms", "api_latency_ms")
MAX_DURATION_MS = 600_000


class ApiFault(Enum):
    ERROR = "error"  # answer 503 without doing the work
    TIMEOUT_BEFORE_WORK = "timeout_before_work"  # hang, answer 504, nothing done
    TIMEOUT_AFTER_WORK = "timeout_after_work"  # do the work, then hang and answer 504
    HANG = "hang"  # do the work, hang for hang_long_ms, then answer normally
    BAD_ANSWER_BEFORE_WORK = "bad_answer_before_work"  # answer 200 garbage, nothing done
    BAD_ANSWER_AFTER_WORK = "bad_answer_after_work"  # do the work, answer 200 garbage


def validate(raw: Any) -> dict[str, Any]:
    """The fault settings as given, or ApiError(400) naming the first bad key."""
    if not isinstance(raw, dict):
        raise invalid("faults must be a JSON object")
    for key, value in raw.items():
        if key in PROBABILITIES:
            _check_probability(key, value)
        elif key in FLAGS:
            if not isinstance(value, bool):
                raise invalid(f"{key} must be true or false")
        elif key in PER_OPERATION:
            if not isinstance(value, dict):
                raise invalid(f"{key} must be an object keyed by {', '.join(OPERATIONS)}")
            for operation, probability in value.items():
                if operation not in OPERATIONS:
                    raise invalid(f"{key}: unknown operation {operation!r}")
                _check_probability(f"{key}.{operation}", probability)
        elif key in DURATIONS_MS:
            _check_duration(key, value)
        elif key in RANGES_MS:
            if not (isinstance(value, list) and len(value) == 2):
                raise invalid(f"{key} must be [min, max]")
            for bound in value:
                _check_duration(key, bound)
            if value[0] > value[1]:
                raise invalid(f"{key}: min is greater than max")
        elif key == "seed":
            if not _is_int(value):
                raise invalid("seed must be an integer")
        else:
            raise invalid(f"unknown fault {key!r}")
    return dict(raw)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_probability(key: str, value: Any) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and 0 <= value <= 1):
        raise invalid(f"{key} must be a probability between 0 and 1")


def _check_duration(key: str, value: Any) -> None:
    if not (_is_int(value) and 0 <= value <= MAX_DURATION_MS):
        raise invalid(f"{key} must be whole milliseconds between 0 and {MAX_DURATION_MS}")


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: dict[str, Any] = {}
        self._random = random.Random()

    def replace(self, raw: Any) -> dict[str, Any]:
        settings = validate(raw)
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.get("seed"))
        return dict(settings)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._settings)

    def flag(self, key: str) -> bool:
        with self._lock:
            return bool(self._settings.get(key, False))

    def seconds(self, key: str) -> float:
        with self._lock:
            return self._settings.get(key, DURATIONS_MS[key]) / 1000

    def chance(self, key: str) -> bool:
        with self._lock:
            return self._roll(self._settings.get(key, 0))

    def api_fault(self, operation: str) -> ApiFault | None:
        with self._lock:
            if self._roll_for("api_error_rate", operation):
                return ApiFault.ERROR
            if self._roll_for("api_timeout_rate", operation):
                if self._random.random() < 0.5:
                    return ApiFault.TIMEOUT_AFTER_WORK
                return ApiFault.TIMEOUT_BEFORE_WORK
            if self._roll_for("api_hang_rate", operation):
                return ApiFault.HANG
            if self._roll_for("bad_answer_rate", operation):
                if self._random.random() < 0.5:
                    return ApiFault.BAD_ANSWER_AFTER_WORK
                return ApiFault.BAD_ANSWER_BEFORE_WORK
            return None

    def random_delay(self, key: str) -> float:
        """Seconds drawn from the ``[min, max]`` milliseconds of a range key; 0 when unset."""
        with self._lock:
            low, high = self._settings.get(key, (0, 0))
            return self._random.randint(low, high) / 1000 if high else 0.0

    def choice(self, options: tuple):
        with self._lock:
            return self._random.choice(options)

    def other_amount(self, amount: int) -> int:
        """A positive amount that is not ``amount``, drawn uniformly from 1 to 2 * amount + 1."""
        with self._lock:
            other = self._random.randint(1, 2 * amount)
        return other + 1 if other >= amount else other

    def shuffle(self, items: list) -> None:
        with self._lock:
            self._random.shuffle(items)

    def _roll_for(self, key: str, operation: str) -> bool:
        return self._roll(self._settings.get(key, {}).get(operation, 0))

    def _roll(self, probability: float) -> bool:
        # Certain and impossible outcomes consume no randomness, so they don't shift a seeded run.
        if probability <= 0:
            return False
        if probability >= 1:
            return True
        return self._random.random() < probability
