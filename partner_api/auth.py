"""API keys: `Authorization: Bearer <key>`, stored only as SHA-256, compared in constant time."""

import hmac

from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import BasePermission

from orders.api_keys import (
    api_key_epoch_key,
    api_key_epoch_of,
    merchant_for_api_key,
    merchant_id_last_seen,
)
from orders.models import Merchant
from orders.services import hash_api_key
from partner_api.throttles import RateCount, queue_rate_count
from payments.auth_failures import API_KEYS, client_address


class MerchantKeyAuthentication(BaseAuthentication):
    """request.user is the Merchant. No header: anonymous (IsMerchant answers 401). An address
    that sent too many wrong keys is refused (429) before its key is even looked at."""

    def authenticate(self, request):
        header = request.headers.get("Authorization")
        if header is None:
            return None
        address = client_address(request.META)
        scheme, _, key = header.partition(" ")
        key = key.strip()
        digest = hash_api_key(key)
        failures, epoch = _failures_and_key_epoch(request, address, digest)
        if wait := API_KEYS.wait_seconds(address, stored=failures):
            raise Throttled(wait=wait, detail="too many failed authentications from your address")
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationFailed("use the header `Authorization: Bearer <api key>`")
        merchant = merchant_for_api_key(key, epoch=epoch)
        # The lookup is by hash; the constant-time compare keeps the check itself timing-safe.
        if merchant is None or not hmac.compare_digest(merchant.api_key_hash, digest):
            API_KEYS.record(address)
            raise AuthenticationFailed("invalid API key")
        if not merchant.is_active:
            raise AuthenticationFailed("this merchant is not active")
        return merchant, None

    def authenticate_header(self, request) -> str:
        # Present, so DRF answers 401 (not 403) to a missing or bad key.
        return 'Bearer realm="paycenter"'


def _failures_and_key_epoch(request, address: str, digest: str) -> tuple:
    """The address's failed-key count and the API key epoch, in one round trip to Redis; in
    the same one, the request is counted for the rate limit (``request.rate_count``) when this
    process has seen the key before and so knows whose it is. When Redis cannot answer, each is
    left to its own module's degradation (a count per process; no cached keys; no limit)."""
    merchant_id = merchant_id_last_seen(digest)
    try:
        pipeline = get_redis_connection("default").pipeline(transaction=False)
        pipeline.mget([API_KEYS.counter_key(address), api_key_epoch_key()])
        if merchant_id is not None:
            window = queue_rate_count(pipeline, merchant_id)
        answers = pipeline.execute()
    except RedisError:
        return ..., None
    stored, epoch = answers[0]
    if merchant_id is not None:
        request.rate_count = RateCount(merchant_id, window, answers[1])
    return stored, api_key_epoch_of(epoch)


class IsMerchant(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, Merchant)
