from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince

from backoffice import operations
from backoffice.actions import admin_action, permission_check
from backoffice.admin_base import ReadOnlyAdmin, amount
from backoffice.exports import CsvExportMixin
from backoffice.filters import AgeFilter, RiskFilter
from backoffice.payments_admin import PaymentAdmin
from backoffice.risk import stuck_payments
from payments.models import Discrepancy
from reconciliation.models import StuckPayment


@admin.register(StuckPayment)
class StuckPaymentAdmin(CsvExportMixin, PaymentAdmin):
    """Payments that need finance staff: PAYING past the threshold, or flagged and still open."""

    # At a glance: whose money, where, how much, why and how long; the trade numbers and the
    # order are on the payment's page, in the search and in the CSV.
    list_display = (
        "id",
        "merchant",
        "channel",
        amount,
        "status",
        "needs_attention",
        "check_attempts",
        "age",
    )
    list_filter = (
        RiskFilter,
        AgeFilter,
        "channel",
        ("order__merchant", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("order__merchant",)
    search_fields = (
        "id",
        "order__id",
        "order__merchant_order_no",
        "out_trade_no",
        "channel_trade_no",
    )
    ordering = ("created_at",)  # the longest waiting first
    csv_columns = (
        ("payment", "id"),
        ("order", "order_id"),
        ("merchant", "order.merchant_id"),
        ("channel", "channel"),
        ("out_trade_no", "out_trade_no"),
        ("channel_trade_no", "channel_trade_no"),
        ("amount_minor", "amount"),
        ("currency", "currency"),
        ("status", "status"),
        ("needs_attention", "needs_attention"),
        ("check_attempts", "check_attempts"),
        ("created_at", "created_at"),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(stuck_payments(timezone.now()))

    @admin.display(description="merchant", ordering="order__merchant__name")
    def merchant(self, payment) -> str:
        return payment.order.merchant.name

    @admin.display(description="age", ordering="created_at")
    def age(self, payment) -> str:
        return timesince(payment.created_at, timezone.now())


@admin.register(Discrepancy)
class DiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ("found_at", "channel", "kind", "out_trade_no", "resolved_at", "resolved_by")
    list_filter = (RiskFilter, "channel", "kind")
    search_fields = ("out_trade_no",)
    actions = [admin_action(operations.RESOLVE)]

    has_resolve_permission = permission_check("reconciliation.resolve_discrepancy")
