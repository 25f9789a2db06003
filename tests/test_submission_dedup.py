"""Order submission defences: fingerprint (Redis fast path), one-time form token and the
UNIQUE (merchant, merchant_order_no) constraint — with Redis up, and with Redis stopped."""

import secrets

import pytest
from django.core.management import call_command
from django.test import Client
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from orders.audit import Actor
from orders.enums import ActorKind
from orders.errors import Refusal
from orders.models import Order
from orders.services import OrderConflict, merchant_create, order_submit
from tests.helpers import race

API = Actor(ActorKind.PARTNER_API, "tests")


def submit(merchant, **overrides):
    fields = {
        "merchant_order_no": "A-100",
        "amount": 1999,
        "currency": "cny",
        "subject": "Tea",
        "actor": API,
    }
    return order_submit(merchant=merchant, **{**fields, **overrides})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis_up", [True, False], ids=["redis-up", "redis-stopped"])
def test_fifty_identical_submissions_make_one_order(merchant, redis_server, redis_up):
    if not redis_up:
        redis_server.stop()

    results = race(lambda _: submit(merchant), 50)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Order.objects.count() == 1
    assert {order.pk for order, _ in results} == {Order.objects.get().pk}
    assert sum(created for _, created in results) == 1


@pytest.mark.django_db
def test_the_same_order_number_with_other_content_is_a_conflict(merchant, redis_server):
    submit(merchant)
    with pytest.raises(OrderConflict):
        submit(merchant, amount=2000)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_conflict_is_a_refusal_with_its_code(merchant, redis_server):
    """Every door answers a conflict as it answers any refusal: by its stable code."""
    submit(merchant)
    with pytest.raises(Refusal) as refused:
        submit(merchant, amount=2000)
    assert refused.value.code == "order_conflict"
    assert "A-100" in refused.value.message


@pytest.mark.django_db
def test_a_failed_submission_does_not_block_a_corrected_retry(merchant, redis_server):
    with pytest.raises(Exception):  # noqa: B017 - the database refuses amount 0
        submit(merchant, merchant_order_no="B-1", amount=0)
    order, created = submit(merchant, merchant_order_no="B-1", amount=5)
    assert created and order.amount == 5


@pytest.mark.django_db
def test_the_window_is_per_merchant_content(merchant, redis_server):
    first, _ = submit(merchant)
    other, created = submit(merchant, merchant_order_no="A-101")
    assert created and other.pk != first.pk


def form_post(client: Client, token: str):
    return client.post("/shop/order/", {"product": "tea", "token": token})


@pytest.fixture
def demo_shop(db):
    call_command("seed_demo", verbosity=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis_up", [True, False], ids=["redis-up", "redis-stopped"])
def test_fifty_concurrent_posts_of_one_checkout_form_make_one_order(
    demo_shop, redis_server, redis_up
):
    if not redis_up:
        redis_server.stop()
    token = secrets.token_hex(16)

    responses = race(lambda _: form_post(Client(), token), 50)

    assert {r.status_code for r in responses} == {302}, responses
    assert Order.objects.count() == 1
    assert {r["Location"] for r in responses} == {f"/checkout/{Order.objects.get().pk}/"}


@pytest.mark.django_db(transaction=True)
def test_back_and_resubmit_from_a_fresh_form_is_the_same_order(demo_shop, redis_server):
    customer = Client()
    first = form_post(customer, secrets.token_hex(16))

    again = form_post(customer, secrets.token_hex(16))  # a new form, same session, same cart

    assert again["Location"] == first["Location"]
    assert Order.objects.count() == 1
    # another customer buying the same thing gets an order of their own
    form_post(Client(), secrets.token_hex(16))
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_submissions_work_again_when_redis_returns(merchant, redis_server):
    redis_server.stop()
    submit(merchant, merchant_order_no="C-1")
    redis_server.start()

    submit(merchant, merchant_order_no="C-2")

    # the fast path is back: the fingerprint is in Redis again
    assert get_redis_connection("default").keys("paycenter:submission:*")
    assert Order.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis_up", [True, False], ids=["redis-up", "redis-stopped"])
def test_fifty_identical_api_submissions_make_one_order(redis_server, redis_up):
    partner = merchant_create(name="API partner")
    if not redis_up:
        redis_server.stop()
    body = {"merchant_order_no": "API-1", "amount": 1999, "currency": "CNY", "subject": "Tea"}

    def post(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {partner.api_key}")
        return client.post("/api/v1/orders", body, format="json")

    responses = race(post, 50)

    assert sorted(r.status_code for r in responses) == [200] * 49 + [201], responses
    assert Order.objects.count() == 1
    assert {r.json()["id"] for r in responses} == {Order.objects.get().pk}
