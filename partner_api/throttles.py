"""Per-merchant rate limit, counted in Redis (the default cache).

The cache ignores Redis errors: with Redis down nothing is counted and nothing is refused,
which is the intended degradation (rate limiting is a fast path, never a reason for a 500).
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class MerchantRateThrottle(SimpleRateThrottle):
    scope = "merchant"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT  # read per request: tests and operators can change it

    def get_cache_key(self, request, view) -> str:
        return f"api-throttle:{request.user.pk}"
