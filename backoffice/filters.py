"""List filters of the back office: what needs finance (`?risk=`) and how long it has waited."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from reconciliation.risk import RISKS, RISKS_BY_KEY


class RiskFilter(admin.SimpleListFilter):
    """The dashboard's links land here: `?risk=<key>` lists exactly the rows it counted."""

    title = "needs finance"
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [(risk.key, risk.label) for risk in RISKS if risk.model is model_admin.model]

    def queryset(self, request, queryset):
        risk = RISKS_BY_KEY.get(self.value())
        if risk is None or risk.model is not queryset.model:
            return queryset
        return risk.rows(queryset, timezone.now())


# key: (label, at least, less than) — ages in seconds since the payment started.
AGE_BUCKETS = {
    "10m": ("under 10 minutes", 0, 600),
    "1h": ("10 minutes to 1 hour", 600, 3600),
    "1d": ("1 hour to 1 day", 3600, 86400),
    "older": ("over 1 day", 86400, None),
}


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _, _) in AGE_BUCKETS.items()]

    def queryset(self, request, queryset):
        if self.value() not in AGE_BUCKETS:
            return queryset
        _, at_least, less_than = AGE_BUCKETS[self.value()]
        now = timezone.now()
        queryset = queryset.filter(created_at__lte=now - timedelta(seconds=at_least))
        if less_than is not None:
            queryset = queryset.filter(created_at__gt=now - timedelta(seconds=less_than))
        return queryset


class ChannelFilter(admin.SimpleListFilter):
    """The configured channels. (Django's default lists the values found in the rows: a
    DISTINCT over the whole table on every page of a list with millions of payments.)"""

    title = "channel"
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return [(code, code) for code in settings.PAYMENT_CHANNELS]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(channel=self.value())
