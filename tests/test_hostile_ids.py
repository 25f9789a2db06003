"""Ids that cannot exist (a NUL byte, thousands of characters, non-ASCII) in any URL path or
query string are a 404 (or a 400 for a bad filter), never a 500: a NUL byte must not reach
PostgreSQL, which cannot hold it in text and would fail the query."""

import pytest
from django.test import Client

from tests.admin.conftest import client_for, staff_user
from tests.api.conftest import Partner

pytestmark = pytest.mark.django_db

HOSTILE_IDS = {"nul": "%00", "nul-inside": "ord_1%00x", "huge": "o" * 5000, "non-ascii": "%C3%A9"}
ids = pytest.mark.parametrize("bad", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())


@ids
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/checkout/{}/"),
        ("post", "/checkout/{}/pay/"),
        ("post", "/checkout/{}/check/"),
        ("get", "/checkout/{}/status/"),
        ("get", "/checkout/{}/return/"),
    ],
)
def test_checkout_pages(bad, method, path):
    client = Client(raise_request_exception=False)
    response = getattr(client, method)(path.format(bad), {"channel": "sandbox"})
    assert response.status_code == 404


@ids
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/orders/{}"),
        ("post", "/orders/{}/payments"),
        ("post", "/orders/{}/close"),
        ("post", "/orders/{}/refunds"),
        ("get", "/payments/{}"),
        ("post", "/payments/{}/sync"),
        ("get", "/refunds/{}"),
    ],
)
def test_api_lookups(bad, method, path):
    partner = Partner("Hostile")
    partner.client.raise_request_exception = False
    response = getattr(partner.client, method)(
        "/api/v1" + path.format(bad),
        {"channel": "sandbox", "amount": 1},
        format="json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@ids
@pytest.mark.parametrize("param", ["merchant_order_no", "status", "after", "cursor"])
def test_api_query_strings(bad, param):
    partner = Partner("Hostile")
    partner.client.raise_request_exception = False
    for path in ("/api/v1/orders", "/api/v1/events"):
        response = partner.client.get(f"{path}?{param}={bad}")
        assert response.status_code in (200, 400, 404), (path, response.status_code)


ADMIN_LISTS = [
    "payments/payment",
    "payments/channelnotification",
    "payments/refund",
    "payments/webhookdelivery",
    "payments/event",
    "payments/channeltransaction",
    "orders/order",
    "reconciliation/stuckpayment",
    "reconciliation/discrepancy",
]


@ids
@pytest.mark.parametrize("model", ADMIN_LISTS)
def test_admin_search_and_change_pages(bad, model):
    client = client_for(staff_user("fiona.finance", "Finance"))
    client.raise_request_exception = False

    assert client.get(f"/admin/{model}/?q={bad}").status_code in (200, 302)
    assert client.get(f"/admin/{model}/{bad}/change/").status_code in (302, 404)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/payments/payment/?status__exact=%00",
        "/admin/payments/payment/?channel__exact=%00",
        "/admin/payments/channelnotification/?error_code__exact=%00",
        "/admin/reconciliation/stuckpayment/?channel__exact=%00",
        "/admin/payments/refund/export.csv?status__exact=%00",
    ],
)
def test_admin_list_filters(url):
    client = client_for(staff_user("fiona.finance", "Finance"))
    client.raise_request_exception = False

    # as for any filter that cannot apply: the list redirects to itself (?e=1), an export is 400
    assert client.get(url).status_code in (302, 400)


@pytest.mark.parametrize(
    "model, action",
    [
        ("payments/payment", "recheck_payments"),
        ("payments/channelnotification", "reprocess_callbacks"),
    ],
)
def test_admin_actions_on_rows_that_cannot_exist(model, action):
    client = client_for(staff_user("fiona.finance", "Finance"))
    client.raise_request_exception = False

    response = client.post(
        f"/admin/{model}/", {"action": action, "index": "0", "_selected_action": ["x\x00"]}
    )

    assert response.status_code == 302
