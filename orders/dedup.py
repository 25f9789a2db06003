"""Submission fingerprint: the outermost duplicate defence.

A rapid identical resubmission (double click, back-and-resubmit, a retrying client) is answered
with the first order. Redis `SET NX EX` is only the fast path: when Redis is down every
submission goes straight to the database, where UNIQUE (merchant, merchant_order_no) decides.
"""

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from orders.models import Order

logger = logging.getLogger(__name__)

PENDING = "pending"
# How long a second submission waits for the first one to finish before going to the database.
FIRST_SUBMISSION_WAIT_SECONDS = 3.0


def submission_fingerprint(merchant_id: str, content: Mapping) -> str:
    normalized = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{merchant_id}\n{normalized}".encode()).hexdigest()


def first_submission(
    fingerprint: str, create: Callable[[], tuple[Order, bool]]
) -> tuple[Order, bool]:
    """Run ``create`` unless an identical submission ran within the window; returns
    (order, created) — the first submission's order for a repeat."""
    key = f"paycenter:submission:{fingerprint}"
    window = settings.SUBMISSION_FINGERPRINT_WINDOW_SECONDS
    try:
        redis = get_redis_connection("default")
        owner = bool(redis.set(key, PENDING, nx=True, ex=window))
    except RedisError as error:
        logger.warning("submission fingerprint unavailable, the database decides: %s", error)
        return create()
    if not owner:
        order = _first_order(redis, key)
        if order is not None:
            return order, False
        # The first submission failed or is slow: let the database decide.
        return create()
    try:
        order, created = create()
    except BaseException:
        _forget(redis, key)  # a failed submission must not block a corrected retry
        raise
    with contextlib.suppress(RedisError):  # if it fails, the window simply ends early
        redis.set(key, order.pk, xx=True, keepttl=True)
    return order, created


def _first_order(redis, key: str) -> Order | None:
    deadline = time.monotonic() + FIRST_SUBMISSION_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            value = redis.get(key)
        except RedisError:
            return None
        if value is None:
            return None
        if value.decode() != PENDING:
            return Order.objects.filter(pk=value.decode()).first()
        time.sleep(0.02)
    return None


def _forget(redis, key: str) -> None:
    with contextlib.suppress(RedisError):
        redis.delete(key)
