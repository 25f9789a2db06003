"""Wrong API keys slow down: after AUTH_FAILURE_LIMIT of them from one address in a window, that
address is answered 429 with Retry-After, even with a right key; counted in Redis, per process
when Redis is down; logged without the key."""

import logging

import pytest
from rest_framework.test import APIClient

from payments.auth_failures import local_counts
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db

GUESS = "pk_guessed_0123456789"


def guess(address: str = "203.0.113.7", key: str = GUESS):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get("/api/v1/orders", REMOTE_ADDR=address)


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.fixture
def limit_of_three(settings):
    settings.AUTH_FAILURE_LIMIT = 3


def test_wrong_keys_from_one_address_are_throttled_even_the_right_key(partner, limit_of_three):
    failures = [guess().status_code for _ in range(3)]

    assert failures == [401, 401, 401]
    assert_throttled(guess())
    assert_throttled(guess(key=partner.api_key))  # a guesser learns nothing while it waits
    assert guess("198.51.100.9", partner.api_key).status_code == 200  # other addresses: fine


def test_the_count_is_kept_in_redis_for_every_worker(partner, limit_of_three):
    for _ in range(3):
        guess()

    local_counts.clear()  # another worker process has no counts of its own

    assert_throttled(guess(key=partner.api_key))


def test_with_redis_down_each_process_still_counts(partner, limit_of_three, redis_server):
    redis_server.stop()

    failures = [guess().status_code for _ in range(3)]

    assert failures == [401, 401, 401]
    assert_throttled(guess(key=partner.api_key))


def test_the_address_may_try_again_when_its_window_ends(partner, limit_of_three, settings):
    settings.AUTH_FAILURE_WINDOW_SECONDS = 1
    wait_for(lambda: guess().status_code == 429, timeout=5, what="the guesser throttled")

    wait_for(lambda: guess(key=partner.api_key).status_code == 200, timeout=5)


def test_failures_are_logged_with_the_address_never_the_key(partner, caplog):
    with caplog.at_level(logging.WARNING, logger="payments.auth_failures"):
        guess()

    assert "203.0.113.7" in caplog.text
    assert GUESS not in caplog.text
