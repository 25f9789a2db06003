"""django-q2 entry points for orders (run by the pump every second)."""

from django.utils import timezone

from orders.services import orders_close_expired


def close_expired_orders(batch: int = 50) -> int:
    return orders_close_expired(now=timezone.now(), batch=batch)
