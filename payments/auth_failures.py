"""Failed authentication slows down: a wrong API key or a badly signed callback is counted per
client address, and an address past AUTH_FAILURE_LIMIT failures in its window
(AUTH_FAILURE_WINDOW_SECONDS) is refused (429, Retry-After) until the window ends — whether its
next secret is right or not, so a guesser learns nothing while it waits.

Counted in Redis (every web worker sees the same count). Without Redis each process counts on
its own, so the limit still holds, per process. Logged with the address, never the secret.
(Admin logins are throttled by django-axes, in PostgreSQL: see config/settings.py.)
"""

import logging
import math
import threading
import time
from types import EllipsisType

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class _LocalCounts:
    """The per-process fallback: counts by key, each forgotten when its window has ended."""

    def __init__(self):
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> int:
        with self._lock:
            ends_at, count = self._counts.get(key, (0.0, 0))
            return count if ends_at > time.time() else 0

    def increment(self, key: str, ends_at: float) -> int:
        with self._lock:
            now = time.time()
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
            count = self._counts.get(key, (ends_at, 0))[1] + 1
            self._counts[key] = (ends_at, count)
            return count

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


local_counts = _LocalCounts()


class AuthFailures:
    """The failures of one kind of secret (``scope``), per client address."""

    def __init__(self, scope: str):
        self.scope = scope

    def wait_seconds(self, address: str, *, stored: bytes | EllipsisType | None = ...) -> int:
        """0 when ``address`` may try its secret now, else the seconds until it may.
        ``stored``: what the caller has just read under ``counter_key(address)``; read here if
        not given."""
        key, ends_at = self._window(address)
        count = self._count(key) if stored is ... else int(stored or 0)
        if count < settings.AUTH_FAILURE_LIMIT:
            return 0
        return max(1, math.ceil(ends_at - time.time()))

    def counter_key(self, address: str) -> str:
        """The Redis key of ``address``'s count in the current window."""
        return self._window(address)[0]

    def record(self, address: str) -> None:
        key, ends_at = self._window(address)
        count = self._increment(key, ends_at)
        logger.warning(
            "failed authentication: scope=%s address=%s failures_in_window=%d",
            self.scope,
            address,
            count,
        )

    def _window(self, address: str) -> tuple[str, float]:
        """The counter's key for the current window, and when that window ends."""
        length = settings.AUTH_FAILURE_WINDOW_SECONDS
        number = int(time.time() // length)
        return cache.make_key(f"auth-failures:{self.scope}:{address}:{number}"), (
            number + 1
        ) * length

    def _count(self, key: str) -> int:
        try:
            return int(get_redis_connection("default").get(key) or 0)
        except RedisError:
            return local_counts.get(key)

    def _increment(self, key: str, ends_at: float) -> int:
        try:
            pipeline = get_redis_connection("default").pipeline()
            pipeline.incr(key)
            pipeline.expireat(key, math.ceil(ends_at))
            count, _ = pipeline.execute()
            return count
        except RedisError:
            return local_counts.increment(key, ends_at)


API_KEYS = AuthFailures("api_key")
CALLBACK_SIGNATURES = AuthFailures("callback_signature")


def client_address(meta: dict) -> str:
    """The client's address as the web server saw it (behind a proxy: the proxy must pass the
    client's address on, e.g. gunicorn's --forwarded-allow-ips with the proxy protocol)."""
    return meta.get("REMOTE_ADDR", "") or "unknown"
