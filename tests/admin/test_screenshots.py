"""The back office in a real browser (Debian's chromium driven by Playwright) against the live
test server: the dashboard, the stuck list, a refund's confirmation and the payment's timeline
after it, a day's reconciliation report and a discrepancy resolved on it, saved as screenshots
under test-artifacts/admin/ for people to look at."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from playwright.sync_api import expect, sync_playwright

from reconciliation.statements import statement_reconcile
from tests.admin import known_day, scenario
from tests.admin.conftest import PASSWORD, paid
from tests.chromium import launch_chromium

pytestmark = pytest.mark.browser

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "admin"
SCREENSHOTS = (
    "dashboard",
    "stuck-payments",
    "refund-confirmation",
    "payment-timeline",
    "reconciliation-report",
    "reconciliation-resolved",
)


@pytest.mark.django_db(transaction=True)
def test_screenshots_of_the_dashboard_the_stuck_list_a_refund_a_timeline_and_a_report(
    live_server, merchant, sandbox, settings
):
    # All database work first: Playwright's sync API runs an event loop in this thread, and
    # Django refuses ORM calls from a thread with a running loop.
    scenario.seed(merchant)
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox": {
            **settings.PAYMENT_CHANNELS["sandbox"],
            "class": "tests.admin.known_day.SandboxWithAKnownDay",
        },
    }
    known_day.seed(merchant)
    day = known_day.known_day()
    statement_reconcile(channel="sandbox", day=day)
    payment = paid(merchant, sandbox, amount=4200)
    User.objects.create_superuser("fiona", "", PASSWORD)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "fiona")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")

        risk = page.locator("#money-at-risk")
        expect(risk).to_contain_text("Payments PAYING past the threshold")
        expect(risk.locator("tr[data-risk=overdue] td.count")).to_have_text("3")
        expect(page.locator("#reconciliation tr[data-channel=sandbox] td.count")).to_have_text("4")
        expect(page.locator("#reconciliation")).to_contain_text("CNY 20.00")
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

        page.click("text=Stuck payments")
        expect(page.locator("#result_list tbody tr")).to_have_count(scenario.STUCK_TOTAL)
        page.screenshot(path=ARTIFACTS / "stuck-payments.png", full_page=True)

        # A partial refund, the way finance staff do it: tick, pick, fill, review, confirm.
        page.goto(f"{live_server.url}/admin/payments/payment/?q={payment.pk}")
        page.check(f"input[name=_selected_action][value={payment.pk}]")
        page.select_option("select[name=action]", "refund_payment")
        page.click("button[name=index]")
        page.fill("#id_amount", "1200")
        page.fill("#id_reason", "goodwill: delivered late")
        page.click("input[type=submit]")
        expect(page.locator(".review")).to_contain_text("Refund CNY 12.00 (1200 minor units)")
        page.screenshot(path=ARTIFACTS / "refund-confirmation.png", full_page=True)
        page.click("input[type=submit]")
        expect(page.locator(".messagelist")).to_contain_text("of CNY 12.00: SUCCEEDED")

        page.click(f"#result_list a:text-is('{payment.pk}')")
        expect(page.locator("#timeline")).to_contain_text("PROCESSING → SUCCEEDED")
        page.screenshot(path=ARTIFACTS / "payment-timeline.png", full_page=True)

        page.goto(f"{live_server.url}/admin/reconciliation/statementday/")
        page.click(f"#result_list a:text-is('sandbox {day:%Y-%m-%d}')")
        expect(page.locator("#totals tr[data-total=payments-CNY] td.theirs")).to_have_text(
            "CNY 40.00"
        )
        page.screenshot(path=ARTIFACTS / "reconciliation-report.png", full_page=True)
        row = page.locator("#discrepancies tr[data-discrepancy]").first
        row.locator("textarea[name=note]").fill("checked with the channel: their test trade")
        row.locator("input[type=submit]").click()
        expect(page.locator(".messagelist")).to_contain_text("resolved")
        expect(page.locator("#discrepancies")).to_contain_text("resolved by fiona")
        page.screenshot(path=ARTIFACTS / "reconciliation-resolved.png", full_page=True)
        browser.close()

    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 1200
    for name in SCREENSHOTS:
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
