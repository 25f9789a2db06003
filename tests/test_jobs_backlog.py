"""A job queue that cannot take more work: new work is refused with a retryable 503 (the API's
JSON error, the checkout's "try again" page) and nothing is created; reads still answer."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_q.tasks import async_task

from orders.models import Order
from payments.models import Payment
from payments.outages import JobsBacklogged
from payments.queue import jobs_backlog_check
from tests.api.conftest import Partner
from tests.factories import make_order

pytestmark = pytest.mark.django_db

ORDER = {"merchant_order_no": "bl-1", "amount": 1999, "currency": "CNY", "subject": "Tea"}


@pytest.fixture
def partner(db) -> Partner:
    return Partner("Backlog partner")


def queue_tasks(count: int) -> None:
    for _ in range(count):
        async_task("math.floor", 1)


def test_a_backlogged_queue_refuses_new_api_work_with_a_retryable_503(partner, settings):
    settings.JOBS_BACKLOG_LIMIT = 3
    queue_tasks(3)

    refused = partner.post("/orders", ORDER, **{"Idempotency-Key": "bl"})

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert int(refused["Retry-After"]) > 0
    assert Order.objects.count() == 0
    assert partner.get("/orders").status_code == 200


def test_below_the_limit_work_is_taken(partner, settings):
    settings.JOBS_BACKLOG_LIMIT = 3
    queue_tasks(2)

    assert partner.post("/orders", ORDER, **{"Idempotency-Key": "bl"}).status_code == 201


def test_a_short_queue_is_counted_once_a_second_and_a_backlog_every_time(partner, settings):
    settings.JOBS_BACKLOG_LIMIT = 3
    assert queries_of_backlog_check() == 1
    assert queries_of_backlog_check() == 0  # below the limit a moment ago: not counted again

    settings.JOBS_BACKLOG_CHECK_SECONDS = 0
    queue_tasks(3)
    for _ in range(2):
        with pytest.raises(JobsBacklogged):
            jobs_backlog_check()


def queries_of_backlog_check() -> int:
    with CaptureQueriesContext(connection) as captured:
        jobs_backlog_check()
    return len(captured)


def test_a_backlogged_queue_shows_customers_a_try_again_page(partner, sandbox, settings):
    order = make_order(partner.merchant)
    settings.JOBS_BACKLOG_LIMIT = 1
    queue_tasks(1)

    page = Client(raise_request_exception=False).post(
        f"/checkout/{order.pk}/pay/", {"channel": "sandbox"}
    )

    assert page.status_code == 503
    assert "Please try again in a moment" in page.text
    assert int(page["Retry-After"]) > 0
    assert Payment.objects.count() == 0
