"""The events payments count for /metrics: channel calls and callbacks received.

prometheus-client in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by config/settings.py
before anything imports the library): each web and q2 worker process writes its own counts to
a file, and /metrics sums every process's files, so a count survives the worker that made it.
Labels come only from bounded sets (configured channel codes, enum values), never from input.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.samples import Sample

from payments.channels.base import Channel, ChannelError, ChannelUnavailable
from payments.enums import NotificationOutcome

CHANNEL_CALLS = Counter(
    "paycenter_channel_calls",
    "Calls to a channel's API, by channel, operation and outcome",
    ["channel", "operation", "outcome"],
)
CHANNEL_CALL_SECONDS = Histogram(
    "paycenter_channel_call_duration_seconds",
    "How long a channel's API took to answer (or to fail)",
    ["channel", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# The latest call per outcome, across processes (max of the timestamps): /readyz reads each
# channel's last outcome from it, and an alert can ask how long since a channel last answered.
LAST_CALL_NAME = "paycenter_channel_last_call_timestamp_seconds"
CHANNEL_LAST_CALL = Gauge(
    LAST_CALL_NAME,
    "When a channel's API was last called, by channel, operation and outcome (Unix time)",
    ["channel", "operation", "outcome"],
    multiprocess_mode="max",
)
CALLBACKS = Counter(
    "paycenter_callbacks_received",
    "Callbacks received from a channel, by channel and verdict (the outcome or rejection code)",
    ["channel", "verdict"],
)

OUTCOME_OK = "ok"
OUTCOME_UNAVAILABLE = "unavailable"  # no answer to trust: timeout, connection, unverifiable
OUTCOME_REFUSED = "refused"  # the channel's definite error
OUTCOME_FAILED = "failed"  # anything else raised on our side


def channel_call_timed(channel: str, operation: str, call: Callable[..., Any], *args, **kwargs):
    """Make one adapter call, counting its outcome and timing it. The outcome is the answer's
    status where it has one (a TradeResult's SUCCEEDED, UNKNOWN, …)."""
    started = time.perf_counter()
    outcome = OUTCOME_FAILED
    try:
        answer = call(*args, **kwargs)
        outcome = str(getattr(answer, "status", OUTCOME_OK))
        return answer
    except ChannelUnavailable:
        outcome = OUTCOME_UNAVAILABLE
        raise
    except ChannelError:
        outcome = OUTCOME_REFUSED
        raise
    finally:
        CHANNEL_CALL_SECONDS.labels(channel, operation).observe(time.perf_counter() - started)
        CHANNEL_CALLS.labels(channel, operation, outcome).inc()
        CHANNEL_LAST_CALL.labels(channel, operation, outcome).set(time.time())


# The calls that go to the channel over the network; the rest of the interface is local.
TIMED_CALLS = frozenset(
    {"create_trade", "query_trade", "close_trade", "refund", "query_refund", "statement_lines"}
)


class TimedChannel:
    """An adapter whose network calls are counted and timed; everything else is the adapter's.
    The registry hands out only these (payments.channels.get_channel), so every call site is
    measured in this one place."""

    def __init__(self, adapter: Channel):
        self._adapter = adapter

    def __getattr__(self, name: str):
        value = getattr(self._adapter, name)
        if name not in TIMED_CALLS:
            return value
        return partial(channel_call_timed, self._adapter.code, name, value)


VERDICT_ACCEPTED = "accepted"  # verified: applied, or a repeat of what we knew
VERDICT_THROTTLED = "throttled"  # stored from an address that sent too many bad signatures
VERDICT_DEFERRED = "deferred"  # stored, not verified now (our side or the channel failed)


def callback_verdict(outcome: str, error_code: str) -> str:
    if outcome in (NotificationOutcome.APPLIED, NotificationOutcome.UNCHANGED):
        return VERDICT_ACCEPTED
    if outcome == NotificationOutcome.REJECTED:
        return error_code or "rejected"
    return VERDICT_DEFERRED


def callback_counted(*, channel: str, verdict: str) -> None:
    """Count a received callback; a channel the URL names that is not configured is one label
    (the URL is the sender's, so it must not grow the label set)."""
    CALLBACKS.labels(channel if channel in settings.PAYMENT_CHANNELS else "unknown", verdict).inc()


def channel_last_calls() -> dict[str, dict | None]:
    """Each configured channel's latest call by any process of this host whose count file is
    kept: operation, outcome and when (None: no such call)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    latest: dict[str, Sample | None] = dict.fromkeys(settings.PAYMENT_CHANNELS)
    calls = (
        s for family in registry.collect() if family.name == LAST_CALL_NAME for s in family.samples
    )
    for sample in calls:
        channel = sample.labels["channel"]
        if channel in latest and (latest[channel] is None or sample.value > latest[channel].value):
            latest[channel] = sample
    return {channel: sample and _last_call(sample) for channel, sample in latest.items()}


def _last_call(sample: Sample) -> dict:
    return {
        "operation": sample.labels["operation"],
        "outcome": sample.labels["outcome"],
        "at": datetime.fromtimestamp(sample.value, UTC).isoformat(),
    }
