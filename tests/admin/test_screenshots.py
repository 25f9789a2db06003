"""The back office in a real browser (Debian's chromium driven by Playwright) against the live
test server, at 1280 px and 1920 px: the dashboard, every list, a payment's page, a refund from
its form to its result, a day's reconciliation report and a discrepancy resolved on it. Every
page is saved as a screenshot under var/screenshots/admin/ for people to look at, and every list
must fit its width (no column pushed off the screen)."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from backoffice.admin_base import ReadOnlyAdmin
from reconciliation.statements import statement_reconcile
from tests.admin import known_day, scenario
from tests.admin.conftest import PASSWORD, paid
from tests.chromium import launch_chromium

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots" / "admin"
WIDTHS = (1280, 1920)


def changelists() -> dict[str, tuple[str, bool]]:
    """name -> (URL, is it ours) of every list the admin site registers. Ours must fit; the
    libraries' own (users, django-axes, django-q2: superusers only) are screenshotted too."""
    return {
        f"{model._meta.app_label}-{model._meta.model_name}": (
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
            isinstance(model_admin, ReadOnlyAdmin),
        )
        for model, model_admin in admin.site._registry.items()
    }


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def columns_off_screen(page) -> list[str]:
    """The list's columns that do not fit its box (the admin lets the table scroll sideways
    inside it, so a cut column is not a wider page)."""
    return page.evaluate(
        """() => {
            const box = document.querySelector('#changelist .results');
            if (!box) return [];
            const right = box.getBoundingClientRect().right;
            return [...box.querySelectorAll('#result_list thead th')]
                .filter(th => th.getBoundingClientRect().right > right + 1)
                .map(th => th.innerText.trim());
        }"""
    )


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "fiona")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.django_db(transaction=True)
def test_every_back_office_page_fits_1280_and_1920_px_and_is_saved_as_a_screenshot(
    live_server, merchant, sandbox
):
    # All database work first: Playwright's sync API runs an event loop in this thread, and
    # Django refuses ORM calls from a thread with a running loop.
    scenario.seed(merchant)
    payment = paid(merchant, sandbox, amount=4200)
    User.objects.create_superuser("fiona", "", PASSWORD)
    lists = changelists()
    misfits = {}

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width in WIDTHS:
            shots = SCREENSHOTS / str(width)
            shots.mkdir(parents=True, exist_ok=True)
            page = browser.new_page(viewport={"width": width, "height": 900})
            log_in(page, live_server)

            risk = page.locator("#money-at-risk")
            expect(risk.locator("tr[data-risk=payments_unknown] td.count")).to_have_text("3")
            expect(page.locator("#not-at-risk")).to_contain_text("never paid")
            page.screenshot(path=shots / "dashboard.png", full_page=True)

            for name, (url, ours) in lists.items():
                page.goto(f"{live_server.url}{url}")
                page.screenshot(path=shots / f"list-{name}.png", full_page=True)
                off = columns_off_screen(page)
                if ours and (off or overflow(page) > 0):
                    misfits[f"{name} at {width}px"] = off or f"{overflow(page)} px too wide"

            page.goto(f"{live_server.url}/admin/payments/payment/{payment.pk}/change/")
            expect(page.locator("#row-actions")).to_contain_text("Refund")
            page.screenshot(path=shots / "payment-detail.png", full_page=True)
            if overflow(page) > 0:
                misfits[f"payment detail at {width}px"] = f"{overflow(page)} px too wide"
            page.close()

        # A partial refund from the payment's page, the way finance staff do it.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        shots = SCREENSHOTS / "1280"
        log_in(page, live_server)
        page.goto(f"{live_server.url}/admin/payments/payment/{payment.pk}/change/")
        page.click("button[data-action=refund_payment]")
        expect(page.locator("#backoffice-action")).to_contain_text("still refundable CNY 42.00")
        page.fill("#id_amount", "999.99")
        page.fill("#id_reason", "goodwill: delivered late")
        page.click("input[type=submit]")
        expect(page.locator(".errorlist")).to_contain_text("more than the CNY 42.00")
        page.screenshot(path=shots / "refund-refused-early.png", full_page=True)
        page.fill("#id_amount", "12.00")
        page.click("input[type=submit]")
        expect(page.locator(".review")).to_contain_text("Refund CNY 12.00 of payment")
        page.screenshot(path=shots / "refund-review.png", full_page=True)
        page.click("input[type=submit]")
        expect(page.locator(".messagelist .success")).to_contain_text("refund")
        expect(page.locator("#timeline")).to_contain_text("PROCESSING → SUCCEEDED")
        page.screenshot(path=shots / "refund-done-payment-detail.png", full_page=True)
        browser.close()

    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 1200
    assert misfits == {}
    for width in WIDTHS:
        assert len(list((SCREENSHOTS / str(width)).glob("list-*.png"))) == len(lists)


@pytest.mark.django_db(transaction=True)
def test_a_days_reconciliation_report_and_a_discrepancy_resolved_on_it(
    live_server, merchant, sandbox, settings
):
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
    User.objects.create_superuser("fiona", "", PASSWORD)
    shots = SCREENSHOTS / "1280"
    shots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server)
        expect(page.locator("#reconciliation tr[data-channel=sandbox] td.count")).to_have_text("4")
        expect(page.locator("#reconciliation")).to_contain_text("CNY 20.00")
        page.screenshot(path=shots / "dashboard-reconciliation.png", full_page=True)

        page.goto(f"{live_server.url}/admin/reconciliation/statementday/")
        page.click(f"#result_list a:text-is('sandbox {day:%Y-%m-%d}')")
        expect(page.locator("#totals tr[data-total=payments-CNY] td.theirs")).to_have_text(
            "CNY 40.00"
        )
        page.screenshot(path=shots / "reconciliation-report.png", full_page=True)
        assert overflow(page) == 0
        row = page.locator("#discrepancies tr[data-discrepancy]").first
        row.locator("textarea[name=note]").fill("checked with the channel: their test trade")
        row.locator("input[type=submit]").click()
        expect(page.locator(".messagelist")).to_contain_text("resolved")
        expect(page.locator("#discrepancies")).to_contain_text("resolved by fiona")
        page.screenshot(path=shots / "reconciliation-resolved.png", full_page=True)
        browser.close()
