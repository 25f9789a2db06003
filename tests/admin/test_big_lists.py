"""The back office's lists and dashboard at any table size: what they read is bounded by the
rows they show or count, never the whole table (bench/big_tables.py times them at a million
rows; these pin the queries' shape, which is what keeps them fast)."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.admin import scenario

pytestmark = pytest.mark.django_db


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize(
    "url",
    ["/admin/payments/payment/", "/admin/orders/order/", "/admin/payments/event/"],
)
def test_a_list_counts_the_rows_it_selects_once_and_never_the_whole_table_again(finance, url):
    counts = [sql for sql in queries_of(finance, url + "?q=nothing-matches") if "COUNT(" in sql]

    assert len(counts) == 1 and "nothing-matches" in counts[0]


def test_the_channel_filter_lists_the_configured_channels_without_reading_the_payments(
    finance, merchant
):
    scenario.payment(merchant, amount=1000)

    response = finance.get("/admin/payments/payment/")
    queries = queries_of(finance, "/admin/payments/payment/")

    [channels] = [spec for spec in response.context["cl"].filter_specs if spec.title == "channel"]
    offered = [choice["display"] for choice in channels.choices(response.context["cl"])]
    assert offered == ["All", *settings.PAYMENT_CHANNELS]
    assert not [sql for sql in queries if "DISTINCT" in sql]


def test_the_dashboard_finds_each_channels_first_payment_at_the_head_of_its_index(
    finance, merchant
):
    scenario.payment(merchant, amount=1000)

    queries = queries_of(finance, "/admin/")

    [firsts] = [
        sql
        for sql in queries
        if 'MIN("payments_payment"."created_at")' in sql
        or ("UNION ALL" in sql and "payments_payment" in sql)
    ]
    assert "GROUP BY" not in firsts and firsts.count("LIMIT 1") >= 1


def test_extra_successes_are_read_from_the_transactions_that_did_not_pay_their_order(finance):
    queries = queries_of(finance, "/admin/payments/channeltransaction/?risk=extra_successes")

    listed = [sql for sql in queries if 'FROM "payments_channeltransaction"' in sql]
    assert listed and all('"orders_order"' not in sql for sql in listed)
    assert all('NOT "payments_channeltransaction"."paid_order"' in sql for sql in listed)
