"""The admin index: money at risk counted exactly, each line one click from exactly its rows."""

import pytest

from tests.admin import scenario

pytestmark = pytest.mark.django_db


def dashboard(client) -> dict:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {entry.line.risk.key: entry for entry in response.context["money_at_risk"]}


def test_the_dashboard_counts_a_seeded_scenario_exactly(finance, merchant):
    scenario.seed(merchant)

    lines = dashboard(finance)

    assert {
        key: (entry.line.count, {currency: total for total, currency in entry.line.totals})
        for key, entry in lines.items()
    } == scenario.EXPECTED


def test_every_line_links_to_a_list_of_exactly_the_rows_it_counted(finance, merchant):
    scenario.seed(merchant)

    for key, entry in dashboard(finance).items():
        listed = finance.get(entry.url)
        assert listed.status_code == 200, key
        assert listed.context["cl"].result_count == entry.line.count, key


def test_the_dashboard_shows_amounts_formatted_from_minor_units(finance, merchant):
    scenario.seed(merchant)

    page = finance.get("/admin/").text

    assert "CNY 30.00" in page and "USD 2.50" in page and "JPY 400" in page
    assert "Money at risk" in page


def test_an_empty_back_office_counts_zero_everywhere(finance):
    assert {entry.line.count for entry in dashboard(finance).values()} == {0}


def test_lines_are_shown_only_for_lists_the_user_may_view(client_without_views):
    assert dashboard(client_without_views) == {}


@pytest.fixture
def client_without_views(db):
    from tests.admin.conftest import client_for, staff_user

    return client_for(staff_user("no.groups"))
