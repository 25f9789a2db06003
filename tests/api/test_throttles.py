"""Per-merchant rate limits in Redis: 429 with Retry-After; with Redis down, no limit and no 500."""

import pytest
import requests
from redis.client import Pipeline, Redis

from tests.helpers import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_over_the_limit_is_429_with_retry_after_and_per_merchant(partner, other_partner, settings):
    settings.API_RATE_LIMIT = "3/min"

    answers = [partner.get("/orders").status_code for _ in range(4)]
    limited = partner.get("/orders")

    assert answers == [200, 200, 200, 429]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= 60
    assert other_partner.get("/orders").status_code == 200


def test_concurrent_requests_never_slip_past_the_limit(partner, api_server, settings):
    settings.API_RATE_LIMIT = "5/h"

    answers = race(
        lambda _: requests.get(f"{api_server}/api/v1/orders", headers=partner.auth, timeout=10),
        20,
    )

    assert sorted(a.status_code for a in answers) == [200] * 5 + [429] * 15


def test_with_redis_down_the_api_still_answers(partner, settings, redis_server):
    settings.API_RATE_LIMIT = "3/min"
    redis_server.stop()

    answers = {partner.get("/orders").status_code for _ in range(5)}
    created = partner.post(
        "/orders", {"merchant_order_no": "r-1", "amount": 1, "currency": "EUR", "subject": "x"}
    )

    assert answers == {200}
    assert created.status_code == 201


def test_a_known_key_is_counted_in_the_authentications_own_round_trip(
    partner, monkeypatch, settings
):
    settings.API_RATE_LIMIT = "3/min"
    order = partner.create_order()  # this process has now seen the key (counted: 1)
    round_trips = []
    send, execute = Redis.execute_command, Pipeline.execute

    def sent(self, *args, **options):
        if not isinstance(self, Pipeline):
            round_trips.append(args[0])
        return send(self, *args, **options)

    def executed(self, *args, **options):
        round_trips.append([command[0][0] for command in self.command_stack])
        return execute(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", sent)
    monkeypatch.setattr(Pipeline, "execute", executed)

    answers = [partner.get(f"/orders/{order['id']}").status_code for _ in range(3)]

    assert answers == [200, 200, 429]  # still counted: 2, 3, then 4 is over
    assert round_trips[0] == ["MGET", "INCRBY", "EXPIREAT"], round_trips
    assert len(round_trips) == 3, round_trips  # one per request, the limit included
