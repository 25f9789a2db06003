"""The stuck payments list: what it holds, its filters and search, and its CSV export."""

import csv
import io

import pytest

from tests.admin import scenario

pytestmark = pytest.mark.django_db

STUCK = "/admin/reconciliation/stuckpayment/"


def listed(client, **params) -> set[str]:
    response = client.get(STUCK, params)
    assert response.status_code == 200
    return {payment.pk for payment in response.context["cl"].result_list}


@pytest.fixture
def payments(merchant):
    return scenario.seed(merchant)


def test_it_lists_payments_paying_past_the_threshold_or_flagged_and_still_open(finance, payments):
    expected = {"overdue_cny", "overdue_usd", "flagged_fresh", "overdue_flagged", "unpaid_flagged"}
    assert listed(finance) == {payments[name].pk for name in expected}
    assert len(expected) == scenario.STUCK_TOTAL


def test_the_threshold_is_a_setting(finance, payments, settings):
    settings.STUCK_PAYMENT_AFTER_SECONDS = 20

    assert payments["fresh"].pk in listed(finance)
    assert payments["fresh"].pk in listed(finance, risk="payments_abandoned")


def test_each_row_says_what_the_channel_last_said_why_it_is_listed_and_since_when(
    finance, payments
):
    response = finance.get(STUCK)
    rows = {payment.pk: payment for payment in response.context["cl"].result_list}
    admin = response.context["cl"].model_admin

    def said(name):
        row = rows[payments[name].pk]
        return admin.channel_said(row), admin.on_list_because(row), row.word_since

    unknown_close = said("overdue_flagged")
    assert unknown_close[0] == "asked to close: no definite answer (timed out)"
    assert unknown_close[1] == "PAYING past the threshold; flagged by the payment checks"
    # since the first of the two unknown closes, not the waiting answer before them
    first_close = payments["overdue_flagged"].checks.filter(call="close").earliest("asked_at")
    assert unknown_close[2] == first_close.asked_at
    assert said("overdue_cny")[0] == f"no definite answer ({scenario.HTTP_503})"
    assert said("overdue_usd")[0] == "waiting for the buyer to pay"
    never_asked = said("unpaid_flagged")
    assert never_asked[0] == "not asked yet"
    assert never_asked[2] == payments["unpaid_flagged"].created_at  # open since it started
    assert said("flagged_fresh")[0] == "paid at the channel, not applied here"
    page = response.text
    assert "asked to close: no definite answer (timed out)" in page
    assert "ago</span>" in page


@pytest.mark.parametrize(
    ("risk", "names"),
    [
        ("payments_unknown", {"overdue_cny", "overdue_flagged", "unpaid_flagged"}),
        ("payments_paid_not_applied", {"flagged_fresh"}),
        ("payments_abandoned", {"overdue_usd"}),
    ],
)
def test_the_list_splits_by_what_the_channel_last_said(finance, payments, risk, names):
    assert listed(finance, risk=risk) == {payments[name].pk for name in names}


@pytest.mark.parametrize(
    ("bucket", "names"),
    [
        ("10m", {"overdue_cny", "flagged_fresh"}),
        ("1h", {"overdue_flagged", "unpaid_flagged"}),
        ("1d", {"overdue_usd"}),
        ("older", set()),
    ],
)
def test_age_buckets(finance, payments, bucket, names):
    assert listed(finance, age=bucket) == {payments[name].pk for name in names}


def test_channel_and_merchant_filters(finance, payments, merchant):
    assert listed(finance, channel="sandbox_card") == {payments["overdue_flagged"].pk}
    assert len(listed(finance, order__merchant__id__exact=merchant.pk)) == scenario.STUCK_TOTAL


@pytest.mark.parametrize(
    "field", ["order_id", "out_trade_no", "channel_trade_no", "pk"], ids=lambda f: f
)
def test_search_by_order_trade_numbers_or_id(finance, payments, field):
    target = payments["overdue_cny"]
    assert listed(finance, q=getattr(target, field)) == {target.pk}


def test_csv_export_of_the_filtered_list_has_integer_minor_units_and_currency(finance, payments):
    response = finance.get(f"{STUCK}export.csv", {"risk": "payments_unknown"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert {
        (row["payment"], row["amount_minor"], row["currency"], row["channel_last_answer"])
        for row in rows
    } == {
        (payments["overdue_cny"].pk, "1000", "CNY", "UNKNOWN"),
        (payments["unpaid_flagged"].pk, "400", "JPY", ""),
        (payments["overdue_flagged"].pk, "2000", "CNY", "UNKNOWN"),
    }


def test_the_list_offers_the_export_of_what_it_shows(finance, payments):
    page = finance.get(STUCK, {"age": "1h"}).text
    assert f"{STUCK}export.csv?age=1h" in page


def test_refunds_export_keeps_amounts_exact_and_defuses_formulas(finance, payments):
    payments["paid_usd"].refunds.update(note='=HYPERLINK("http://evil")')

    response = finance.get("/admin/payments/refund/export.csv", {"risk": "refunds_pending"})

    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert sorted((row["amount_minor"], row["currency"]) for row in rows) == [
        ("100", "CNY"),
        ("200", "CNY"),
        ("75", "USD"),
    ]
    usd = next(row for row in rows if row["currency"] == "USD")
    assert usd["note"].startswith("'=")


def test_exports_need_the_view_permission(payments):
    from tests.admin.conftest import client_for, staff_user

    outsider = client_for(staff_user("no.groups"))
    assert outsider.get(f"{STUCK}export.csv").status_code == 403


def test_a_refund_still_open_says_what_the_channel_last_said(finance, payments):
    page = finance.get("/admin/payments/refund/", {"risk": "refunds_pending"}).text

    assert f'title="{scenario.REFUND_UNKNOWN}">{scenario.REFUND_UNKNOWN}</span>' in page
