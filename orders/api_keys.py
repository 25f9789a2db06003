"""API key → merchant, cached: the partner API authenticates every request, and the merchant
behind a key changes rarely (deactivated, key replaced, webhook secret rotated).

Each process keeps at most API_KEY_CACHE_SIZE merchants (least recently used go first), each
for at most API_KEY_CACHE_SECONDS and tagged with the key epoch in Redis it was read under.
Every change to a merchant bumps the epoch, so every process drops what it holds at its next
request: a deactivated key stops working at once. If a bump is lost (Redis restarted in
between), an entry still ends with its seconds. Without Redis nothing is cached: every request
reads the database, which is always right.
"""

import copy
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from types import EllipsisType

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from orders.models import Merchant
from orders.services import hash_api_key

logger = logging.getLogger(__name__)

EPOCH_KEY = "api-keys:epoch"


@dataclass(frozen=True)
class _Entry:
    merchant: Merchant
    epoch: int
    expires_at: float


_entries: OrderedDict[str, _Entry] = OrderedDict()
_lock = threading.Lock()


def merchant_for_api_key(
    api_key: str, *, epoch: int | EllipsisType | None = ...
) -> Merchant | None:
    """The merchant whose key this is (active or not), or None. A copy: callers may change it.
    ``epoch``: the key epoch as the caller has just read it (``api_key_epoch_of``), read here if
    not given; None when Redis could not say."""
    digest = hash_api_key(api_key)
    if epoch is ...:
        epoch = _epoch()
    if epoch is None:
        return _read(digest)
    now = time.monotonic()
    with _lock:
        entry = _entries.get(digest)
        if entry is not None and entry.epoch == epoch and entry.expires_at > now:
            _entries.move_to_end(digest)
            return copy.copy(entry.merchant)
    # The epoch was read before the row: a change committed in between bumps it past ours.
    merchant = _read(digest)
    if merchant is not None:
        _remember(digest, _Entry(merchant, epoch, now + settings.API_KEY_CACHE_SECONDS))
    return copy.copy(merchant)


def merchant_id_last_seen(api_key_digest: str) -> str | None:
    """The merchant this process last found behind a key, valid or not now: a key never moves
    to another merchant, so this is enough to name whose request it may be (a rate count read
    ahead), never to let it in."""
    with _lock:
        entry = _entries.get(api_key_digest)
    return None if entry is None else entry.merchant.pk


def api_keys_forget() -> None:
    """Drop this process's entries (tests; the epoch does it for every process)."""
    with _lock:
        _entries.clear()


@receiver(post_save, sender=Merchant)
@receiver(post_delete, sender=Merchant)
def _merchant_changed(**kwargs) -> None:
    # Now, for this transaction's own later reads; and after commit, because a request in
    # between may have cached the row as it was before the commit under the new epoch.
    _bump()
    transaction.on_commit(_bump)


def _read(digest: str) -> Merchant | None:
    return Merchant.objects.filter(api_key_hash=digest).first()


def _remember(digest: str, entry: _Entry) -> None:
    with _lock:
        _entries[digest] = entry
        _entries.move_to_end(digest)
        while len(_entries) > settings.API_KEY_CACHE_SIZE:
            _entries.popitem(last=False)


def api_key_epoch_key() -> str:
    """The Redis key of the key epoch, for a caller that reads it along with its own keys."""
    return cache.make_key(EPOCH_KEY)


def api_key_epoch_of(value: bytes | None) -> int:
    """The key epoch from the value stored under api_key_epoch_key()."""
    return int(value or 0)


def _epoch() -> int | None:
    """The current key epoch; None when Redis cannot say (then nothing may be cached)."""
    try:
        return api_key_epoch_of(get_redis_connection("default").get(api_key_epoch_key()))
    except RedisError:
        return None


def _bump() -> None:
    try:
        get_redis_connection("default").incr(api_key_epoch_key())
    except RedisError:
        logger.warning("API key epoch not bumped (Redis unavailable): cached keys end by age")
