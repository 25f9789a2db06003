"""The admin index: money at risk counted exactly, each line one click from exactly its rows;
a stuck payment is at risk by what its channel last said, an abandoned one is not."""

import pytest

from payments.models import ChannelTransaction, Refund
from tests.admin import scenario

pytestmark = pytest.mark.django_db


def dashboard(client, *groups: str) -> dict:
    response = client.get("/admin/")
    assert response.status_code == 200
    groups = groups or ("money_at_risk", "not_at_risk")
    return {entry.line.risk.key: entry for group in groups for entry in response.context[group]}


def test_the_dashboard_counts_a_seeded_scenario_exactly(finance, merchant):
    scenario.seed(merchant)

    lines = dashboard(finance)

    assert {
        key: (entry.line.count, {currency: total for total, currency in entry.line.totals})
        for key, entry in lines.items()
    } == scenario.EXPECTED


def test_abandoned_payments_are_shown_apart_and_never_in_the_money_at_risk(finance, merchant):
    payments = scenario.seed(merchant)

    at_risk = dashboard(finance, "money_at_risk")
    for_the_record = dashboard(finance, "not_at_risk")

    assert set(for_the_record) == {"payments_abandoned"}
    assert "payments_abandoned" not in at_risk
    abandoned = finance.get(for_the_record["payments_abandoned"].url).context["cl"].result_list
    assert [payment.pk for payment in abandoned] == [payments["overdue_usd"].pk]
    page = finance.get("/admin/").text
    assert "USD 2.50" not in page  # the abandoned payment's amount is nowhere on the dashboard


def test_an_extra_success_stays_at_risk_until_it_is_all_refunded(finance, merchant):
    payments = scenario.seed(merchant)
    extra = payments["paid_usd"]

    Refund.objects.filter(payment=extra).update(status="SUCCEEDED")  # 75 of 800 back
    assert dashboard(finance)["extra_successes"].line.count == 1
    Refund.objects.create(
        payment=extra, amount=725, currency="USD", reason="MANUAL", status="SUCCEEDED"
    )

    assert dashboard(finance)["extra_successes"].line.count == 0
    assert ChannelTransaction.objects.filter(payment=extra).exists()


def test_every_line_links_to_a_list_of_exactly_the_rows_it_counted(finance, merchant):
    scenario.seed(merchant)

    for key, entry in dashboard(finance).items():
        listed = finance.get(entry.url)
        assert listed.status_code == 200, key
        assert listed.context["cl"].result_count == entry.line.count, key


def test_the_dashboard_shows_amounts_formatted_from_minor_units(finance, merchant):
    scenario.seed(merchant)

    page = finance.get("/admin/").text

    assert "CNY 30.00" in page and "USD 8.00" in page and "JPY 400" in page
    assert "Money at risk" in page


def test_an_empty_back_office_counts_zero_everywhere(finance):
    assert {entry.line.count for entry in dashboard(finance).values()} == {0}


def test_lines_are_shown_only_for_lists_the_user_may_view(client_without_views):
    assert dashboard(client_without_views) == {}


@pytest.fixture
def client_without_views(db):
    from tests.admin.conftest import client_for, staff_user

    return client_for(staff_user("no.groups"))
