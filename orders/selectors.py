"""Reads for pages (and later the API/admin): no writes here."""

from datetime import datetime, timedelta

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404

from orders.ids import is_id_shaped
from orders.models import Order


def order_get(order_id: str) -> Order:
    if not is_id_shaped(order_id):
        raise Http404
    return get_object_or_404(Order.objects.select_related("merchant"), pk=order_id)


def order_payable_until(order: Order) -> datetime:
    """When paying stops being possible: the time_expire sent to the channels, a safety margin
    before the order's own expiry (payment_start refuses from then on). Whole seconds, rounded
    down: channels take second precision and must not round it up."""
    deadline = order.expires_at - timedelta(seconds=settings.TIME_EXPIRE_MARGIN_SECONDS)
    return deadline.replace(microsecond=0)
