"""What counts as an outage (a retryable 503), judged on real errors of the real servers."""

import pytest
from django.db import InternalError, connection, transaction
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from orders.models import Merchant
from payments.outages import is_outage

pytestmark = pytest.mark.django_db


def raised(action) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


def test_a_write_refused_by_a_server_in_recovery_is_an_outage():
    # a hot standby (or a server still recovering) refuses writes exactly like this
    def write_read_only():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
            Merchant.objects.create(name="x", api_key_hash="h", webhook_secret="s")

    error = raised(write_read_only)

    assert isinstance(error, InternalError)  # not an OperationalError: recognised by SQLSTATE
    assert is_outage(error)


def test_redis_unreachable_is_an_outage(redis_server):
    redis_server.stop()

    error = raised(lambda: get_redis_connection("default").get("k"))

    assert isinstance(error, RedisError)
    assert is_outage(error)


def test_a_bad_query_is_a_bug_not_an_outage():
    def bad_query():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM orders_merchant")

    assert not is_outage(raised(bad_query))
