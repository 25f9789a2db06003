from django.contrib import admin

from orders.admin_base import ReadOnlyAdmin
from reconciliation.models import Discrepancy


@admin.register(Discrepancy)
class DiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ("found_at", "channel", "kind", "out_trade_no", "resolved_at")
    list_filter = ("channel", "kind")
    search_fields = ("out_trade_no",)
