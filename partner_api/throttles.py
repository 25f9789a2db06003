"""Per-merchant rate limit, counted in Redis: API_RATE_LIMIT requests ("<n>/<s|m|h|d>") per
window of that length.

One atomic INCR per request (pipelined with its expiry: one round trip), so every web node
shares one count and concurrent requests cannot slip past it, as they could past a history
read and written back. With Redis down nothing is counted and nothing is refused, which is the
intended degradation (rate limiting is a fast path, never a reason for a 500).
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class MerchantRateThrottle(BaseThrottle):
    window_ends_at = 0.0

    def allow_request(self, request, view) -> bool:
        # read per request: tests and operators can change it
        limit, seconds = SimpleRateThrottle.parse_rate(None, settings.API_RATE_LIMIT)
        number = int(time.time() // seconds)
        self.window_ends_at = (number + 1) * seconds
        key = cache.make_key(f"api-throttle:{request.user.pk}:{number}")
        try:
            pipeline = get_redis_connection("default").pipeline()
            pipeline.incr(key)
            pipeline.expireat(key, math.ceil(self.window_ends_at))
            count, _ = pipeline.execute()
        except RedisError:
            return True
        return count <= limit

    def wait(self) -> float:
        return max(1, math.ceil(self.window_ends_at - time.time()))
