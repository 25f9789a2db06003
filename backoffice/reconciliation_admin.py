from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.timezone import localtime

from backoffice import operations
from backoffice.actions import admin_action, permission_check
from backoffice.admin_base import ReadOnlyAdmin, amount, short_pk
from backoffice.exports import CsvExportMixin
from backoffice.filters import AgeFilter, ChannelFilter, RiskFilter
from backoffice.last_word import last_word_sentence
from backoffice.payments_admin import PaymentAdmin
from payments.models import Discrepancy
from reconciliation.last_word import with_last_word
from reconciliation.models import StuckPayment
from reconciliation.risk import stuck_payments, stuck_reasons, with_stuck_reasons


@admin.register(StuckPayment)
class StuckPaymentAdmin(CsvExportMixin, PaymentAdmin):
    """Payments that need finance staff: PAYING past the threshold, or flagged and still open."""

    # At a glance: whose money, where, how much, why and how long; the trade numbers and the
    # order are on the payment's page, in the search and in the CSV.
    list_display = (
        short_pk,
        "merchant",
        "channel",
        amount,
        "status",
        "channel_said",
        "on_list_because",
        "since",
    )
    list_filter = (
        RiskFilter,
        AgeFilter,
        ChannelFilter,
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
        ("channel_last_answer", "last_answer"),
        ("channel_last_error", "last_error"),
        ("channel_said_since", "word_since"),
        ("created_at", "created_at"),
    )

    def get_queryset(self, request):
        now = timezone.now()
        stuck = super().get_queryset(request).filter(stuck_payments(now))
        return with_stuck_reasons(with_last_word(stuck), now)

    @admin.display(description="channel last said")
    def channel_said(self, payment) -> str:
        return last_word_sentence(payment)

    @admin.display(description="on the list because")
    def on_list_because(self, payment) -> str:
        return stuck_reasons(payment)

    @admin.display(description="since", ordering="word_since")
    def since(self, payment) -> str:
        """When the channel started saying it (when the payment started, if never asked)."""
        return format_html(
            '<span title="{}">{} ago</span>',
            date_format(localtime(payment.word_since), "DATETIME_FORMAT"),
            timesince(payment.word_since, timezone.now()),
        )

    @admin.display(description="merchant", ordering="order__merchant__name")
    def merchant(self, payment) -> str:
        return payment.order.merchant.name


@admin.register(Discrepancy)
class DiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ("found_at", "channel", "kind", "out_trade_no", "resolved_at", "resolved_by")
    list_filter = (RiskFilter, "channel", "kind")
    search_fields = ("out_trade_no",)
    actions = [admin_action(operations.RESOLVE)]

    has_resolve_permission = permission_check("reconciliation.resolve_discrepancy")
