"""Per-merchant rate limit, counted in Redis: API_RATE_LIMIT requests ("<n>/<s|m|h|d>") per
window of that length.

One atomic INCR per request (pipelined with its expiry, and with the authentication's own reads
when it knows whose key it is: no round trip of its own), so every web node shares one count and
concurrent requests cannot slip past it, as they could past a history read and written back.
With Redis down nothing is counted and nothing is refused, which is the intended degradation
(rate limiting is a fast path, never a reason for a 500).
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


@dataclass(frozen=True)
class RateCount:
    """One merchant's count in one window, as INCR answered it."""

    merchant_id: str
    window: int
    value: int


def _window() -> tuple[int, int, int]:
    """(limit, window length in seconds, number of the current window); the limit is read per
    request: tests and operators can change it."""
    limit, seconds = SimpleRateThrottle.parse_rate(None, settings.API_RATE_LIMIT)
    return limit, seconds, int(time.time() // seconds)


def queue_rate_count(pipeline, merchant_id: str) -> int:
    """Queue the merchant's INCR and its expiry on ``pipeline`` (two answers: the count, then
    the expiry's); returns the window counted. For the authentication's own round trip, which
    counts the request of a merchant it expects (MerchantRateThrottle then uses the count)."""
    _, seconds, number = _window()
    key = cache.make_key(f"api-throttle:{merchant_id}:{number}")
    pipeline.incr(key)
    pipeline.expireat(key, (number + 1) * seconds)
    return number


class MerchantRateThrottle(BaseThrottle):
    window_ends_at = 0.0

    def allow_request(self, request, view) -> bool:
        limit, seconds, number = _window()
        self.window_ends_at = (number + 1) * seconds
        counted = getattr(request, "rate_count", None)
        if counted is not None and (counted.merchant_id, counted.window) == (
            request.user.pk,
            number,
        ):
            return counted.value <= limit
        try:
            pipeline = get_redis_connection("default").pipeline(transaction=False)
            queue_rate_count(pipeline, request.user.pk)
            count, _ = pipeline.execute()
        except RedisError:
            return True
        return count <= limit

    def wait(self) -> float:
        return max(1, math.ceil(self.window_ends_at - time.time()))
