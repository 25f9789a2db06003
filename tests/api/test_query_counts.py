"""The database queries of the hot endpoints, exactly: a change that adds one fails here.

Transactional tests, so each request's transactions are real ones and the counts are what
production sees (no test transaction turning them into savepoints). Counted with the endpoint
warmed up (the merchant's key cached, the job queue counted), as under load. When a number
here has to change, say in the commit which query was added or removed, and why.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.models import Payment
from tests.conftest import TEST_SECRET
from tests.helpers import signed_notification

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"merchant_order_no": "qc-1", "amount": 1999, "currency": "CNY", "subject": "Tea"}


def queries_of(call) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code < 400, response.content
    return [query["sql"] for query in captured.captured_queries], response


@pytest.fixture
def warm(partner, settings):
    """A partner whose key the server has already seen once, with the job queue already
    counted short (as under load: at most once a second per process)."""
    settings.JOBS_BACKLOG_CHECK_SECONDS = 3600
    partner.create_order(merchant_order_no="qc-warm")
    return partner


def test_creating_an_order_reads_no_payments_or_refunds_and_no_known_key(warm):
    queries, response = queries_of(lambda: warm.post("/orders", ORDER))

    assert response.status_code == 201
    assert response.json()["payments"] == [] and response.json()["refunds"] == []
    assert not [q for q in queries if "payments_payment" in q or "payments_refund" in q]
    assert not [q for q in queries if 'FROM "orders_merchant"' in q]
    # The order and its audit row in one transaction; without an Idempotency-Key there is no
    # claim to commit with it, so no request-wide transaction and no savepoint inside one.
    assert queries[0] == "BEGIN" and queries[-1] == "COMMIT", queries
    assert len(queries) == 4, queries


def test_reading_an_order_without_payments_reads_no_refunds(warm):
    order = warm.create_order()

    queries, _ = queries_of(lambda: warm.get(f"/orders/{order['id']}"))

    assert not [q for q in queries if "payments_refund" in q]
    assert len(queries) == 2, queries


def test_reading_a_paying_order_takes_a_fixed_number_of_queries(warm, sandbox, settings):
    settings.READ_REPAIR_INTERVAL_SECONDS = 3600
    order = warm.create_order()
    warm.post(f"/orders/{order['id']}/payments", {"channel": "sandbox"})
    warm.get(f"/orders/{order['id']}")  # read repair asks the channel, then not for an hour

    queries, response = queries_of(lambda: warm.get(f"/orders/{order['id']}"))

    assert [p["status"] for p in response.json()["payments"]] == ["PAYING"]
    assert len(queries) == 2, queries  # the order, its payments (no refunds: none succeeded)


def test_an_idempotency_key_replay_reads_only_its_stored_answer(warm):
    headers = {"Idempotency-Key": "qc-replay"}
    first = warm.post("/orders", ORDER, **headers)

    queries, replay = queries_of(lambda: warm.post("/orders", ORDER, **headers))

    assert replay.content == first.content and replay["Idempotent-Replayed"] == "true"
    assert not [q for q in queries if "orders_order" in q]
    assert not [q for q in queries if "SAVEPOINT" in q]
    assert len(queries) == 4, queries


def test_starting_a_payment_takes_a_fixed_number_of_queries(warm, sandbox):
    order = warm.create_order()

    queries, response = queries_of(
        lambda: warm.post(f"/orders/{order['id']}/payments", {"channel": "sandbox"})
    )

    assert response.json()["status"] == "PAYING"
    # Ownership; then the attempt (order locked, its open attempt looked for, the attempt, both
    # audit rows in one INSERT, the order) and, after the channel's answer, that answer (the
    # order locked again, the attempt, its audit row, the attempt saved), each transaction BEGIN
    # … COMMIT.
    assert len(queries) == 14, queries


def test_applying_a_callback_takes_a_fixed_number_of_queries(warm, sandbox, client):
    order = warm.create_order()
    warm.post(f"/orders/{order['id']}/payments", {"channel": "sandbox"})
    headers, body = signed_notification(Payment.objects.get(), TEST_SECRET)

    queries, response = queries_of(
        lambda: client.post(
            "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
        )
    )

    assert response.content == b"success"
    assert Payment.objects.get().status == "SUCCEEDED"
    # Stored raw (autocommit), then one transaction without a savepoint: the nonce, the
    # order's lock and attempts, the channel transaction (looked for, inserted), the two moves
    # with their audit rows in one INSERT, both events in one INSERT with one webhook-URL read,
    # the verdict.
    assert not [q for q in queries if "SAVEPOINT" in q], queries
    assert len(queries) == 14, queries
