"""Locks. The database row lock is the guarantee; the Redis lock only keeps concurrent requests
for one order from piling up on it (and from calling the channel side by side)."""

import logging
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db.models import Subquery
from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

from orders.enums import OrderStatus
from orders.models import Order
from payments.models import Payment

logger = logging.getLogger(__name__)


def lock_order(order_id: str) -> Order:
    """SELECT … FOR UPDATE on the order row. Callers lock the order before its payments/refunds,
    always in that order, so two services never deadlock."""
    return Order.objects.select_for_update().get(pk=order_id)


def lock_order_of_trade(out_trade_no: str) -> Order | None:
    """lock_order for the order of the payment with this out_trade_no, found in the same query;
    None when no payment has it."""
    payment_order = Payment.objects.filter(out_trade_no=out_trade_no).values("order_id")
    try:
        return Order.objects.select_for_update().get(pk=Subquery(payment_order))
    except Order.DoesNotExist:
        return None


@contextmanager
def order_lock(order_id: str):
    """Best-effort Redis lock per order. If Redis is down or slow we go on without it."""
    timeout = settings.ORDER_LOCK_TIMEOUT_SECONDS
    try:
        lock = get_redis_connection("default").lock(
            f"paycenter:order-lock:{order_id}", timeout=timeout, blocking_timeout=timeout
        )
        acquired = lock.acquire()
    except RedisError as error:
        logger.warning("order lock unavailable, relying on the row lock: %s", error)
        yield
        return
    try:
        yield
    finally:
        if acquired:
            try:
                lock.release()
            except (LockError, RedisError) as error:
                logger.warning("order lock release failed (it will expire): %s", error)


def first_in_window(key: str, seconds: float, *, when_redis_down: Callable[[], bool]) -> bool:
    """True for the first caller per key within ``seconds``, across every process (Redis
    SET NX PX). When Redis is down, ``when_redis_down`` decides (a conditional UPDATE in the
    database), so an outage does not turn every caller into the first."""
    try:
        return bool(
            get_redis_connection("default").set(
                f"paycenter:window:{key}", 1, nx=True, px=int(seconds * 1000)
            )
        )
    except RedisError:
        return when_redis_down()


def _final_status_key(order_id: str) -> str:
    return f"order-final-status:{order_id}"


def cache_paid_order(order_id: str) -> None:
    cache.set(_final_status_key(order_id), OrderStatus.PAID, timeout=24 * 3600)


def order_known_paid(order_id: str) -> bool:
    """Fast answer from the cache; a miss (or Redis down) says nothing and the DB decides."""
    return cache.get(_final_status_key(order_id)) == OrderStatus.PAID
