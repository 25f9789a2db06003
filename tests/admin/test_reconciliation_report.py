"""The reconciliation report per channel and day: its totals for a known day, the discrepancies
with the rows involved, resolving one with a note, "reconcile this day", the CSV, and the
dashboard's days not reconciled and open discrepancies — as finance and support staff."""

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.timezone import localtime

from payments.models import Discrepancy, Payment
from payments.templatetags.money import money
from reconciliation.days import channel_today
from reconciliation.models import ReconciliationOutcome, StatementDay, StatementLine
from reconciliation.statements import statement_reconcile
from tests.admin import known_day
from tests.admin.conftest import admin_url, client_for, messages_of, paid, run_action, staff_user
from tests.factories import paid_payment

pytestmark = pytest.mark.django_db

DAYS = "/admin/reconciliation/statementday/"


def report(day=None, channel="sandbox", suffix="") -> str:
    return f"{DAYS}report/{channel}/{(day or known_day.known_day()).isoformat()}/{suffix}"


@pytest.fixture
def known(sandbox, settings, merchant) -> dict:
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox": {
            **settings.PAYMENT_CHANNELS["sandbox"],
            "class": "tests.admin.known_day.SandboxWithAKnownDay",
        },
    }
    return known_day.seed(merchant)


@pytest.fixture
def reconciled(known) -> dict:
    statement_reconcile(channel="sandbox", day=known_day.known_day())
    return known


def discrepancy_of(fact: str) -> Discrepancy:
    return ReconciliationOutcome.objects.get(fact=fact).discrepancy


def test_the_report_sets_our_totals_against_the_channels_for_a_known_day(finance, reconciled):
    page = finance.get(report())

    assert page.status_code == 200
    summary = page.context["summary"]
    assert (summary.ours_payments, summary.channel_payments) == (
        known_day.OURS_PAYMENTS,
        known_day.CHANNEL_PAYMENTS,
    )
    assert (summary.ours_refunds, summary.channel_refunds) == (
        known_day.OURS_REFUNDS,
        known_day.CHANNEL_REFUNDS,
    )
    assert summary.channel_fees == known_day.CHANNEL_FEES
    cells = {
        (cell.label, cell.currency): (cell.ours, cell.channel) for cell in page.context["totals"]
    }
    assert cells == {
        ("payments", "CNY"): (3500, 4000),
        ("payments", "USD"): (800, 0),
        ("refunds", "CNY"): (200, 700),
        ("fees", "CNY"): (None, 22),
        ("net", "CNY"): (3300, 4000 - 700 - 22),
        ("net", "USD"): (800, 0),
    }
    counted = {kind: count for kind, _, count in page.context["outcomes"] if count}
    assert counted == known_day.OUTCOMES
    # money for people, from minor units: ours, the channel's and the difference
    for shown in ("CNY 35.00", "CNY 40.00", "CNY -5.00", "CNY 0.22", "CNY 32.78", "USD 8.00"):
        assert shown in page.text, shown
    assert 'data-status="RECONCILED"' in page.text


def test_each_discrepancy_links_to_the_payment_refund_and_line_involved(finance, reconciled):
    page = finance.get(report())

    listed = {row.fact: row for row in page.context["discrepancies"]}
    assert set(listed) == {
        "payment:KD-OTHER-AMOUNT",
        "payment:KD-NOT-IN-FILE",
        "payment:KD-NEVER-ISSUED",
        "refund:KD-R-CONSOLE",
    }
    other_amount = listed["payment:KD-OTHER-AMOUNT"]
    line_url = admin_url(StatementLine, "change", other_amount.line.pk)
    for url in (
        admin_url(Payment, "change", reconciled["other_amount"].pk),
        admin_url(Discrepancy, "change", other_amount.discrepancy.pk),
        line_url,
        admin_url(Payment, "change", reconciled["missing_at_channel"].pk),
    ):
        assert f'href="{url}"' in page.text, url
        assert finance.get(url).status_code == 200, url
    assert "CNY\xa012.00" in finance.get(line_url).text  # what the channel's line says
    # the refund made in the channel's console names the payment it was made on
    assert listed["refund:KD-R-CONSOLE"].payment == reconciled["matched"]


def test_resolving_from_the_report_needs_a_note(finance, reconciled):
    discrepancy = discrepancy_of("payment:KD-NEVER-ISSUED")

    page = finance.post(
        report(suffix="resolve/"), {"discrepancy": discrepancy.pk, "note": "  "}, follow=True
    )

    assert messages_of(page) == [
        f"{discrepancy}: not resolved: a note is required (at most 2000 characters): "
        "say how the discrepancy was resolved."
    ]
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is None
    assert not LogEntry.objects.exists()


def test_resolving_from_the_report_with_a_note_is_audited_and_shown(finance, reconciled):
    discrepancy = discrepancy_of("payment:KD-NEVER-ISSUED")
    note = "not ours: the channel's test trade, confirmed with their support"

    page = finance.post(
        report(suffix="resolve/"), {"discrepancy": discrepancy.pk, "note": note}, follow=True
    )

    assert messages_of(page) == [f"{discrepancy}: resolved"]
    discrepancy.refresh_from_db()
    assert (discrepancy.resolved_by.username, discrepancy.resolution) == ("fiona.finance", note)
    entry = LogEntry.objects.get()
    assert (entry.user.username, entry.object_id, entry.change_message) == (
        "fiona.finance",
        str(discrepancy.pk),
        "Resolve with a note: resolved",
    )
    assert "resolved by fiona.finance" in page.text and escape(note) in page.text
    assert len(page.context["summary"].open_discrepancies) == 3


def test_a_discrepancy_of_another_day_cannot_be_resolved_from_this_days_report(finance, reconciled):
    elsewhere = Discrepancy.objects.create(channel="sandbox", kind="MISSING_HERE", details={})
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)

    answer = finance.post(
        report(day=yesterday, suffix="resolve/"), {"discrepancy": elsewhere.pk, "note": "x"}
    )

    assert answer.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.resolved_at is None


def test_reconcile_this_day_runs_the_statement_run_and_is_logged(finance, known):
    before = finance.get(report())
    assert 'data-status="NEVER_RUN"' in before.text and 'name="reconcile"' in before.text

    page = finance.post(report(suffix="reconcile/"), follow=True)

    day = StatementDay.objects.get(channel="sandbox", day=known_day.known_day())
    assert day.status == StatementDay.Status.RECONCILED
    assert messages_of(page) == [f"{day}: RECONCILED against statement v1 (5 lines)"]
    assert ReconciliationOutcome.objects.count() == sum(known_day.OUTCOMES.values())
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.change_message) == (
        str(day.pk),
        "Reconcile this day: RECONCILED against statement v1 (5 lines)",
    )
    again = finance.post(report(suffix="reconcile/"), follow=True)
    assert ReconciliationOutcome.objects.count() == sum(known_day.OUTCOMES.values())
    assert Discrepancy.objects.count() == 4
    assert messages_of(again) == messages_of(page)


def test_reconcile_this_day_fetches_the_real_sandboxs_statement(finance, merchant, sandbox):
    payment = paid(merchant, sandbox, amount=1800)
    today = timezone.now().astimezone(UTC).date()

    finance.post(report(day=today, suffix="reconcile/"))

    assert StatementDay.objects.get(channel="sandbox", day=today).status == "PROVISIONAL"
    matched = ReconciliationOutcome.objects.get(fact=f"payment:{payment.out_trade_no}")
    assert (matched.outcome, matched.line.amount) == ("MATCHED", 1800)


def test_the_report_shows_the_fee_total_the_bill_states_beside_its_lines_and_flags_a_gap(
    finance, merchant, wechatpay
):
    # given a WeChat Pay bill whose summary states 2 fen more fees than its lines add up to
    paid_payment(merchant, wechatpay, amount=12345, channel="wechatpay")
    wechatpay.misstate_bill_fee_total(2)
    try:
        today = channel_today("wechatpay", timezone.now())
        finance.post(report(day=today, channel="wechatpay", suffix="reconcile/"))
    finally:
        wechatpay.misstate_bill_fee_total(0)

    page = finance.get(report(day=today, channel="wechatpay"))

    cells = {cell.label: cell for cell in page.context["totals"] if cell.currency == "CNY"}
    lines_fees = cells["fees"].channel
    stated = cells["stated fees"]
    assert (stated.channel, stated.against, stated.difference) == (lines_fees + 2, lines_fees, -2)
    assert 'data-total="stated fees-CNY"' in page.text
    assert "CNY -0.02" in page.text
    stated_text = money(lines_fees + 2, "CNY")
    assert f"the file states fees of {stated_text}; its lines add up to" in page.text
    # (the emulator's bill also holds other tests' payments: those are missing here)
    (row,) = [row for row in page.context["discrepancies"] if row.fact == "fees"]
    assert (row.outcome, row.discrepancy.kind) == ("FEE_TOTAL_MISMATCH", "FEE_TOTAL_MISMATCH")


def test_days_on_the_list_are_reconciled_by_the_action_too(finance, known):
    day = StatementDay.objects.create(channel="sandbox", day=known_day.known_day())

    done, _ = run_action(finance, DAYS, "reconcile_days", [day])

    day.refresh_from_db()
    assert day.status == StatementDay.Status.RECONCILED
    assert messages_of(done) == [f"{day}: RECONCILED against statement v1 (5 lines)"]


def test_a_day_being_reconciled_is_refused_and_left_to_its_run(finance, known):
    running = StatementDay.objects.create(
        channel="sandbox",
        day=known_day.known_day(),
        lease_until=timezone.now() + timedelta(minutes=5),
    )

    page = finance.post(report(suffix="reconcile/"), follow=True)

    assert messages_of(page) == [
        f"{running}: refused: sandbox {running.day} is being reconciled right now"
    ]
    assert not ReconciliationOutcome.objects.exists()
    assert LogEntry.objects.get().change_message.startswith("Reconcile this day: refused")


def test_support_reads_the_report_but_may_neither_reconcile_nor_resolve(support, reconciled):
    discrepancy = discrepancy_of("payment:KD-NEVER-ISSUED")

    page = support.get(report())
    reconcile = support.post(report(suffix="reconcile/"))
    resolve = support.post(report(suffix="resolve/"), {"discrepancy": discrepancy.pk, "note": "x"})

    assert page.status_code == 200
    assert 'name="reconcile"' not in page.text and 'name="note"' not in page.text
    assert (reconcile.status_code, resolve.status_code) == (403, 403)
    discrepancy.refresh_from_db()
    assert discrepancy.resolved_at is None
    assert StatementDay.objects.get().attempts == 1  # only the fixture's run


def test_staff_without_the_view_permission_see_no_report_and_no_export(reconciled):
    nobody = client_for(staff_user("no.groups"))

    assert nobody.get(report()).status_code == 403
    assert nobody.get(report(suffix="export.csv")).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        f"{DAYS}report/sandbox/2026-13-01/",
        f"{DAYS}report/sandbox/20261101/",
        f"{DAYS}report/nowhere/2026-11-01/",
        f"{DAYS}report/sandbox/2026-11-01%00/",
        f"{DAYS}report/sandbox/9999-12-31/",
        f"{DAYS}report/sandbox/0001-01-01/",
        f"{DAYS}report/sandbox/9999-12-31/export.csv",
    ],
)
def test_a_day_that_cannot_exist_is_not_found(finance, sandbox, path):
    assert finance.get(path).status_code == 404


def test_a_day_on_the_list_opens_its_report_and_cannot_be_edited(finance, reconciled):
    day = StatementDay.objects.get()
    before = list(StatementDay.objects.values())

    opened = finance.get(admin_url(StatementDay, "change", day.pk))
    tampered = finance.post(
        admin_url(StatementDay, "change", day.pk), {"status": "PENDING", "attempts": 0}
    )
    listed = finance.get(DAYS)

    assert (opened.status_code, opened["Location"]) == (302, report())
    assert tampered.status_code == 403
    assert list(StatementDay.objects.values()) == before
    assert f'href="{report()}"' in listed.text


def test_the_actions_answer_only_a_post(finance, known):
    assert finance.get(report(suffix="reconcile/")).status_code == 405
    assert not StatementDay.objects.exists()


@pytest.mark.parametrize("posted", [{}, {"discrepancy": "x", "note": "n"}, {"note": "n"}])
def test_a_resolve_naming_no_discrepancy_of_the_day_is_not_found(finance, reconciled, posted):
    assert finance.post(report(suffix="resolve/"), posted).status_code == 404
    assert not Discrepancy.objects.exclude(resolved_at=None).exists()


def test_a_future_day_cannot_be_reconciled(finance, sandbox):
    tomorrow = timezone.now().astimezone(UTC).date() + timedelta(days=1)

    assert finance.post(report(day=tomorrow, suffix="reconcile/")).status_code == 404
    assert not StatementDay.objects.exists()


def test_the_csv_lists_every_fact_with_its_line_and_our_rows(finance, reconciled):
    answer = finance.get(report(suffix="export.csv"))

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    rows = {
        row["fact"]: row
        for row in csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode()))
    }
    assert {fact: row["outcome"] for fact, row in rows.items()} == {
        "payment:KD-MATCHED": "MATCHED",
        "payment:KD-OTHER-AMOUNT": "AMOUNT_MISMATCH",
        "payment:KD-NEVER-ISSUED": "MISSING_HERE",
        "payment:KD-NOT-IN-FILE": "MISSING_AT_CHANNEL",
        "refund:KD-R-OURS": "MATCHED",
        "refund:KD-R-CONSOLE": "REFUND_MISSING_HERE",
    }
    other = rows["payment:KD-OTHER-AMOUNT"]
    assert (other["channel_amount_minor"], other["payment_amount_minor"]) == ("1200", "1000")
    assert (other["channel_fee_minor"], other["line"], other["statement_version"]) == (
        "7",
        "2",
        "1",
    )
    assert other["discrepancy"] == str(discrepancy_of("payment:KD-OTHER-AMOUNT").pk)
    missing = rows["payment:KD-NOT-IN-FILE"]
    assert (missing["line"], missing["payment_currency"], missing["payment_amount_minor"]) == (
        "",
        "USD",
        "800",
    )
    ours = rows["refund:KD-R-OURS"]
    assert (ours["refund"], ours["refund_amount_minor"], ours["channel_amount_minor"]) == (
        reconciled["refund"].pk,
        "200",
        "200",
    )


def test_the_dashboard_shows_days_not_reconciled_and_the_money_of_open_discrepancies(
    finance, reconciled
):
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    StatementDay.objects.create(
        channel="sandbox", day=yesterday, status="PENDING", last_error="not ready: try later"
    )

    page = finance.get("/admin/")

    figures = page.context["reconciliation"]
    channels = {entry.channel: entry for entry in figures.channels}
    assert set(channels) == {"sandbox", "sandbox_card"}
    # every day since the known day's payments, but the known day itself, is owed a run
    assert channels["sandbox"].count == 4 and channels["sandbox_card"].count == 0
    shown = [(day.day, day.run.status if day.run else None) for day, _ in channels["sandbox"].shown]
    assert shown == [(yesterday, "PENDING")] + [
        (yesterday - timedelta(days=n), None) for n in (1, 2, 3)
    ]
    assert "not ready: try later" in page.text
    assert (figures.discrepancies.count, figures.discrepancies.totals) == (
        4,
        known_day.DISCREPANCY_MONEY,
    )
    assert "CNY 20.00" in page.text and "USD 8.00" in page.text
    assert f'href="{report(day=yesterday)}"' in page.text


def test_a_day_reconciled_and_a_discrepancy_resolved_leave_the_dashboard(finance, reconciled):
    two_days_ago = timezone.now().astimezone(UTC).date() - timedelta(days=2)
    statement_reconcile(channel="sandbox", day=two_days_ago)  # the real sandbox: nothing on it
    finance.post(
        report(suffix="resolve/"),
        {"discrepancy": discrepancy_of("refund:KD-R-CONSOLE").pk, "note": "refunded in console"},
    )

    figures = finance.get("/admin/").context["reconciliation"]

    sandbox_days = next(entry for entry in figures.channels if entry.channel == "sandbox")
    assert sandbox_days.count == 3
    assert two_days_ago not in {day.day for day, _ in sandbox_days.shown}
    assert (figures.discrepancies.count, figures.discrepancies.totals) == (
        3,
        ((1500, "CNY"), (800, "USD")),
    )


def test_the_dashboard_block_needs_the_reports_view_permission(reconciled):
    nobody = client_for(staff_user("no.groups"))

    assert nobody.get("/admin/").context["reconciliation"] is None


def test_the_reports_times_carry_their_offset_as_the_rest_of_the_back_office(finance, reconciled):
    """Times on the report are written as everywhere in the back office (DATETIME_FORMAT, with a
    numeric offset): "CST" would read as US Central as well as China Standard Time."""
    discrepancy = discrepancy_of("payment:KD-NEVER-ISSUED")
    run = StatementDay.objects.get(channel="sandbox", day=known_day.known_day())

    page = finance.get(report())

    for moment in (run.reconciled_at, discrepancy.found_at):
        assert date_format(localtime(moment), "DATETIME_FORMAT") in page.text
        assert localtime(moment).strftime("%z") in page.text
    assert " CST" not in page.text
