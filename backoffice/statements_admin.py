"""The reconciliation report: one page per channel and day — our books against the channel's
statement, the outcomes, and the discrepancies with the rows involved — with "reconcile this
day", resolving a discrepancy with a note, and the day as CSV. Reads come from
reconciliation/summary.py; changes go through the same actions as the lists."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from backoffice import operations
from backoffice.actions import (
    action_call,
    admin_action,
    permission_check,
    record_outcome,
    run_one,
)
from backoffice.admin_base import ReadOnlyAdmin, amount
from backoffice.exports import csv_response
from backoffice.forms import DayResolveForm
from backoffice.reconciliation_dashboard import report_url
from payments.templatetags.money import money
from reconciliation.days import StatementUnavailable, availability, channel_today
from reconciliation.models import Outcome, StatementDay, StatementLine
from reconciliation.summary import (
    DaySummary,
    day_discrepancies,
    day_report_rows,
    day_summary,
    statement_day,
)

# No channel's statements are older; it keeps a day's arithmetic (bounds, time zones) in range.
EARLIEST_DAY = date(2000, 1, 1)

# What each outcome means, for finance staff.
OUTCOME_TEXT = {
    Outcome.MATCHED: "matched: both books agree",
    Outcome.APPLIED: "healed: a success we had missed, applied from the statement",
    Outcome.MISSING_HERE: "at the channel, never issued by us",
    Outcome.MISSING_AT_CHANNEL: "ours, not in the channel's final statement",
    Outcome.AMOUNT_MISMATCH: "another amount at the channel",
    Outcome.CURRENCY_MISMATCH: "another currency at the channel",
    Outcome.STATUS_MISMATCH: "another status at the channel",
    Outcome.REFUND_MISSING_HERE: "a refund made at the channel, not by us",
    Outcome.REFUND_MISSING_AT_CHANNEL: "our refund, not in the channel's final statement",
    Outcome.REFUND_AMOUNT_MISMATCH: "a refund of another amount at the channel",
    Outcome.REFUND_STATUS_MISMATCH: "a refund in another status at the channel",
    Outcome.FEE_TOTAL_MISMATCH: "the file's stated fee total is not what its lines' fees add up to",
}


@dataclass(frozen=True)
class TotalsCell:
    """One currency of one line of the day's books."""

    label: str
    currency: str
    ours: int | None  # None: we book none (the channel's fees)
    channel: int
    # The channel's own other figure this one must equal (its lines' fees, for the stated total)
    against: int | None = None

    @property
    def difference(self) -> int | None:
        if self.against is not None:
            return self.against - self.channel
        return None if self.ours is None else self.ours - self.channel


def totals_table(summary: DaySummary) -> list[TotalsCell]:
    return [
        TotalsCell(
            row.label,
            currency,
            None if row.ours is None else row.ours.get(currency, 0),
            row.channel.get(currency, 0),
            None if row.against is None else row.against.get(currency, 0),
        )
        for row in summary.rows()
        for currency in sorted({*(row.ours or {}), *row.channel})
    ]


def _of(dotted: str) -> Callable:
    """A getter for a path through optional rows: None where a row on the way is missing."""

    def get(row):
        for name in dotted.split("."):
            row = getattr(row, name, None)
            if row is None:
                return None
        return row

    return get


REPORT_COLUMNS = (
    ("fact", "fact"),
    ("outcome", _of("outcome.outcome")),
    ("discrepancy", _of("outcome.discrepancy_id")),
    ("discrepancy_resolved_at", _of("outcome.discrepancy.resolved_at")),
    ("discrepancy_resolved_by", _of("outcome.discrepancy.resolved_by.username")),
    ("discrepancy_resolution", _of("outcome.discrepancy.resolution")),
    ("statement_version", _of("line.statement.version")),
    ("line", _of("line.number")),
    ("kind", _of("line.kind")),
    ("out_trade_no", _of("line.out_trade_no")),
    ("channel_trade_no", _of("line.channel_trade_no")),
    ("out_refund_no", _of("line.out_refund_no")),
    ("channel_refund_no", _of("line.channel_refund_no")),
    ("channel_amount_minor", _of("line.amount")),
    ("channel_currency", _of("line.currency")),
    ("channel_status", _of("line.status")),
    ("channel_time", _of("line.time")),
    ("channel_fee_minor", _of("line.fee")),
    ("payment", _of("outcome.payment_id")),
    ("payment_amount_minor", _of("outcome.payment.amount")),
    ("payment_currency", _of("outcome.payment.currency")),
    ("payment_status", _of("outcome.payment.status")),
    ("refund", _of("outcome.refund_id")),
    ("refund_amount_minor", _of("outcome.refund.amount")),
    ("refund_currency", _of("outcome.refund.currency")),
    ("refund_status", _of("outcome.refund.status")),
)


@admin.register(StatementDay)
class StatementDayAdmin(ReadOnlyAdmin):
    """Every channel's day that was run, each opening its report."""

    list_display = (
        "report",
        "status",
        "attempts",
        "last_error",
        "last_attempt_at",
        "reconciled_at",
    )
    list_display_links = None
    list_filter = ("channel", "status")
    actions = [admin_action(operations.RECONCILE_DAY)]

    has_reconcile_permission = permission_check("reconciliation.reconcile_statementday")
    has_resolve_permission = permission_check("reconciliation.resolve_discrepancy")

    @admin.display(description="channel and day", ordering="day")
    def report(self, row: StatementDay) -> str:
        return format_html(
            '<a href="{}">{} {}</a>', report_url(row.channel, row.day), row.channel, row.day
        )

    def get_urls(self):
        def route(suffix: str, view, name: str):
            return path(
                f"report/<str:channel>/<str:day>/{suffix}",
                self.admin_site.admin_view(view),
                name=f"reconciliation_statementday_{name}",
            )

        return [
            route("", self.report_view, "report"),
            route("export.csv", self.export_view, "report_export"),
            route("reconcile/", require_POST(self.reconcile_view), "reconcile"),
            route("resolve/", require_POST(self.resolve_view), "resolve"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        row = self.get_object(request, unquote(object_id))
        if request.method != "GET" or row is None:  # the admin's own 403 or "does not exist"
            return super().change_view(request, object_id, form_url, extra_context)
        return redirect(report_url(row.channel, row.day))

    def report_view(self, request, channel: str, day: str):
        the_day = self._day(request, channel, day)
        summary = day_summary(channel=channel, day=the_day)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reconciliation: {channel}, {the_day}",
            "channel": channel,
            "day": the_day,
            "summary": summary,
            "line_count": summary.statement.lines.count() if summary.statement else 0,
            "totals": totals_table(summary),
            "outcomes": [
                (kind, OUTCOME_TEXT[kind], summary.outcomes.get(kind, 0)) for kind in Outcome
            ],
            "discrepancies": day_discrepancies(channel=channel, day=the_day),
            "can_reconcile": self.has_reconcile_permission(request),
            "can_resolve": self.has_resolve_permission(request),
        }
        return TemplateResponse(request, "admin/backoffice/reconciliation_report.html", context)

    def export_view(self, request, channel: str, day: str):
        the_day = self._day(request, channel, day)
        return csv_response(
            f"reconciliation-{channel}-{the_day}",
            REPORT_COLUMNS,
            day_report_rows(channel=channel, day=the_day),
        )

    def reconcile_view(self, request, channel: str, day: str):
        the_day = self._day(request, channel, day)
        if not self.has_reconcile_permission(request):
            raise PermissionDenied
        spec = operations.RECONCILE_DAY
        result = run_one(spec, StatementDay(channel=channel, day=the_day), action_call(request, {}))
        # the run made the day's row if it had none: the log names it
        record_outcome(spec, self, request, statement_day(channel, the_day), result)
        return redirect(report_url(channel, the_day))

    def resolve_view(self, request, channel: str, day: str):
        the_day = self._day(request, channel, day)
        if not self.has_resolve_permission(request):
            raise PermissionDenied
        form = DayResolveForm(request.POST)
        form.is_valid()
        of_the_day = {
            row.discrepancy_id: row.discrepancy
            for row in day_discrepancies(channel=channel, day=the_day)
        }
        discrepancy = of_the_day.get(form.cleaned_data.get("discrepancy"))
        if discrepancy is None:
            raise Http404("no such discrepancy on this day")
        if form.errors:
            self.message_user(
                request,
                f"{discrepancy}: not resolved: a note is required (at most 2000 characters): "
                "say how the discrepancy was resolved.",
                messages.ERROR,
            )
            return redirect(report_url(channel, the_day) + "#discrepancies")
        spec = operations.RESOLVE
        result = run_one(spec, discrepancy, action_call(request, form.cleaned_data))
        record_outcome(spec, self, request, discrepancy, result)
        return redirect(report_url(channel, the_day) + "#discrepancies")

    def _day(self, request, channel: str, day: str) -> date:
        """The report's day (404 for a channel without statements or a malformed day)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            availability(channel)
            the_day = date.fromisoformat(day)
        except (StatementUnavailable, ValueError):
            raise Http404("no such channel's day") from None
        today = channel_today(channel, timezone.now())
        if the_day.isoformat() != day or not EARLIEST_DAY <= the_day <= today:
            raise Http404("a day is YYYY-MM-DD, up to the channel's today")
        return the_day


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    """The lines of every kept statement file, as the adapter parsed them."""

    list_display = (
        "statement",
        "number",
        "kind",
        "out_trade_no",
        "out_refund_no",
        amount,
        "status",
        "time",
        "fee",
    )
    list_filter = ("kind", "statement__channel")
    list_select_related = ("statement",)
    search_fields = ("out_trade_no", "out_refund_no", "channel_trade_no", "channel_refund_no")
    fields = (
        "statement",
        "number",
        "kind",
        "out_trade_no",
        "channel_trade_no",
        "out_refund_no",
        "channel_refund_no",
        amount,
        "status",
        "time",
        "fee_shown",
    )
    readonly_fields = (amount, "fee_shown")

    @admin.display(description="fee")
    def fee_shown(self, line: StatementLine) -> str:
        return "—" if line.fee is None else money(line.fee, line.currency)
