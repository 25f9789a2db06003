"""The API key → merchant cache (orders/api_keys.py): fast, and never wrong for long."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import api_keys
from orders.api_keys import merchant_for_api_key
from orders.models import Merchant
from orders.services import merchant_create

pytestmark = pytest.mark.django_db


def merchant_queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return sum('FROM "orders_merchant"' in q["sql"] for q in captured.captured_queries)


def test_a_known_key_is_read_from_the_database_once(partner):
    assert merchant_queries(lambda: partner.get("/orders")) == 1

    assert merchant_queries(lambda: partner.get("/orders")) == 0
    assert partner.get("/orders").status_code == 200


def test_a_deactivated_key_stops_working_at_once_although_it_was_cached(partner):
    assert partner.get("/orders").status_code == 200
    merchant = Merchant.objects.get(pk=partner.merchant.pk)

    merchant.is_active = False
    merchant.save()  # as the back office does

    response = partner.get("/orders")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_replaced_key_stops_working_at_once(partner):
    assert partner.get("/orders").status_code == 200
    merchant = Merchant.objects.get(pk=partner.merchant.pk)

    merchant.api_key_hash = "0" * 64
    merchant.save()

    assert partner.get("/orders").status_code == 401


def test_an_entry_lives_no_longer_than_its_seconds_when_no_change_was_announced(partner, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    assert partner.get("/orders").status_code == 200
    # a change the epoch never heard of (a bulk update sends no signal)
    Merchant.objects.filter(pk=partner.merchant.pk).update(is_active=False)

    assert partner.get("/orders").status_code == 401


def test_without_redis_every_request_reads_the_database_and_deactivation_is_at_once(
    partner, redis_server
):
    redis_server.stop()
    assert partner.get("/orders").status_code == 200
    assert merchant_queries(lambda: partner.get("/orders")) == 1

    Merchant.objects.filter(pk=partner.merchant.pk).update(is_active=False)

    assert partner.get("/orders").status_code == 401


def test_callers_get_a_copy_they_may_change(partner):
    first = merchant_for_api_key(partner.api_key)
    first.name = "changed by a caller"

    assert merchant_for_api_key(partner.api_key).name == "Partner A"


def test_the_cache_holds_at_most_its_size(db, settings):
    settings.API_KEY_CACHE_SIZE = 2
    keys = [merchant_create(name=f"m{i}").api_key for i in range(3)]

    for key in keys:
        assert merchant_for_api_key(key) is not None

    assert len(api_keys._entries) == 2
