"""GET /events: the merchant's events in order, after a cursor, never skipping one that
commits late behind the cursor."""

import re
import threading
from datetime import UTC

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from payments.enums import EventType
from payments.events import event_emit
from payments.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def emit(merchant, n: int = 1) -> list[str]:
    with transaction.atomic():
        return [
            event_emit(merchant_id=merchant.pk, type=EventType.ORDER_CLOSED, payload={"n": i}).pk
            for i in range(n)
        ]


def feed_ids(partner, **params) -> list[str]:
    return [event["id"] for event in partner.get("/events", **params).json()["results"]]


def test_events_come_oldest_first_in_pages_after_a_cursor(partner, other_partner):
    first = emit(partner.merchant, 3)
    second = emit(partner.merchant, 2)
    emit(other_partner.merchant, 2)

    page = partner.get("/events", limit=4).json()
    rest = partner.get("/events", after=page["results"][-1]["id"], limit=4).json()

    assert [e["id"] for e in page["results"]] + [e["id"] for e in rest["results"]] == first + second
    assert (page["has_more"], rest["has_more"]) == (True, False)
    assert feed_ids(partner, after=second[-1]) == []


def test_a_feed_item_is_the_webhook_body(partner):
    [event_id] = emit(partner.merchant)
    event = Event.objects.get(pk=event_id)

    [item] = partner.get("/events").json()["results"]

    assert item == {
        "id": event_id,
        "type": "order.closed",
        "created_at": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"n": 0},
    }


def test_an_event_committing_late_behind_the_cursor_is_not_skipped(partner):
    # given a transaction that wrote its event first and is still open
    wrote, release = threading.Event(), threading.Event()
    late = []

    def slow_writer():
        try:
            with transaction.atomic():
                late.extend(emit(partner.merchant))
                wrote.set()
                release.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert wrote.wait(10)
    # when a later transaction commits its event and the partner reads the feed
    [early] = emit(partner.merchant)
    held_back = feed_ids(partner)
    release.set()
    writer.join(10)

    # then the feed held the later event back until the earlier transaction ended,
    # and serves both, in commit-safe order, to a partner that kept its cursor
    assert held_back == []
    assert feed_ids(partner) == [*late, early]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"after": "evt_unknown"}, "unknown_event"),
        ({"after": "evt_\x00"}, "invalid_request"),
        ({"limit": 0}, "invalid_request"),
        ({"limit": 501}, "invalid_request"),
    ],
)
def test_bad_feed_parameters_are_400(partner, params, code):
    response = partner.get("/events", **params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_another_merchants_event_is_not_a_cursor(partner, other_partner):
    [theirs] = emit(other_partner.merchant)

    response = partner.get("/events", after=theirs)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_event"


def test_a_page_is_read_from_the_feed_index_alone_from_the_cursor_on(partner, other_partner):
    # given long feeds, vacuumed and analysed as autovacuum keeps them
    with connection.cursor() as cursor:
        for merchant in (partner.merchant, other_partner.merchant):
            cursor.execute(
                "INSERT INTO payments_event (id, merchant_id, type, payload, created_at) "
                "SELECT 'evt_feed' || %s || n, %s, 'order.closed', '{}', now() "
                "FROM generate_series(1, 3000) AS n",
                [merchant.pk[-6:], merchant.pk],
            )
        cursor.execute("VACUUM ANALYZE payments_event")
    cursor_id = feed_ids(partner, limit=500)[-1]

    # when a partner reads a page after its cursor
    with CaptureQueriesContext(connection) as queries:
        assert len(feed_ids(partner, after=cursor_id, limit=100)) == 100
    [page_query] = [q["sql"] for q in queries.captured_queries if '"sequence" IN' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_query)
        nodes = list(plan_nodes(cursor.fetchone()[0][0]["Plan"]))

    # then "after the cursor" is one range of the feed index, walked without the table, and
    # nothing is read only to be dropped
    assert re.search(
        r'\((\w+|"payments_event")\."transaction_id", \1\."sequence"\) > \(', page_query
    )
    [walk] = [node for node in nodes if node.get("Index Name") == "event_merchant_feed"]
    assert (walk["Node Type"], walk["Heap Fetches"], walk["Actual Rows"]) == (
        "Index Only Scan",
        0,
        101,
    )
    assert not [node for node in nodes if "Filter" in node]


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
