"""The dashboard's reconciliation block: per channel, the days whose statement should be final
and that no run has reconciled against it; and the open discrepancies with the money they
involve. Its own block next to the money at risk, read from reconciliation/selectors.py."""

from dataclasses import dataclass
from datetime import date, datetime

from django.urls import reverse

from reconciliation.selectors import (
    OpenDiscrepancies,
    UnreconciledDay,
    days_not_reconciled,
    open_discrepancies,
)

DAYS_SHOWN = 7  # per channel, newest first; the count and the oldest say the rest


def report_url(channel: str, day: date) -> str:
    """The reconciliation report of one channel's day (backoffice/statements_admin.py)."""
    return reverse("admin:reconciliation_statementday_report", args=(channel, day.isoformat()))


@dataclass(frozen=True)
class ChannelDays:
    channel: str
    count: int
    shown: list[tuple[UnreconciledDay, str]]  # the day and its report's URL
    oldest: UnreconciledDay | None


@dataclass(frozen=True)
class ReconciliationFigures:
    channels: list[ChannelDays]
    discrepancies: OpenDiscrepancies
    discrepancies_url: str


def reconciliation_figures(request, *, now: datetime) -> ReconciliationFigures | None:
    """None for a user who may not see the reports."""
    if not request.user.has_perm("reconciliation.view_statementday"):
        return None
    return ReconciliationFigures(
        channels=[
            _channel_days(channel, days) for channel, days in days_not_reconciled(now=now).items()
        ],
        discrepancies=open_discrepancies(),
        discrepancies_url=reverse("admin:reconciliation_discrepancy_changelist")
        + "?resolved_at__isnull=True",
    )


def _channel_days(channel: str, days: list[UnreconciledDay]) -> ChannelDays:
    return ChannelDays(
        channel=channel,
        count=len(days),
        shown=[(day, report_url(channel, day.day)) for day in days[:DAYS_SHOWN]],
        oldest=days[-1] if len(days) > DAYS_SHOWN else None,
    )
