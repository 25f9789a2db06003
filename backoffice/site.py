"""The admin site of the back office: its index opens with the money at risk."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from backoffice.reconciliation_dashboard import reconciliation_figures
from reconciliation.risk import RiskLine, money_at_risk


@dataclass(frozen=True)
class DashboardLine:
    line: RiskLine
    url: str


class BackOfficeSite(admin.AdminSite):
    site_header = "Paycenter back office"
    site_title = "Paycenter back office"
    index_title = "Money at risk"
    index_template = "admin/backoffice/index.html"
    # Finance works from the index and the lists; the lists need the width more than a menu.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        now = timezone.now()
        threshold = now - timedelta(seconds=settings.STUCK_PAYMENT_AFTER_SECONDS)
        lines = [
            DashboardLine(line, _list_url(line))
            for line in money_at_risk(now=now)
            if request.user.has_perm(_view_permission(line))
        ]
        context = {
            "money_at_risk": [entry for entry in lines if entry.line.risk.at_risk],
            "not_at_risk": [entry for entry in lines if not entry.line.risk.at_risk],
            "stuck_after": timesince(threshold, now),
            "reconciliation": reconciliation_figures(request, now=now),
            **(extra_context or {}),
        }
        return super().index(request, context)


def _list_url(line: RiskLine) -> str:
    opts = line.risk.model._meta
    return (
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + f"?risk={line.risk.key}"
    )


def _view_permission(line: RiskLine) -> str:
    opts = line.risk.model._meta
    return f"{opts.app_label}.view_{opts.model_name}"
