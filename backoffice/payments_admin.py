from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.utils.html import format_html

from backoffice import operations
from backoffice.actions import admin_action, permission_check
from backoffice.admin_base import ReadOnlyAdmin, amount, short_pk, short_ref
from backoffice.exports import CsvExportMixin
from backoffice.filters import ChannelFilter, RiskFilter
from backoffice.timeline import payment_timeline
from payments.models import (
    ChannelNotification,
    ChannelTransaction,
    Event,
    Payment,
    Refund,
    WebhookDelivery,
)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    # The trade numbers are on the payment's page and in the search; the list needs the width.
    list_display = (
        short_pk,
        short_ref("order", "order"),
        "channel",
        amount,
        "status",
        "needs_attention",
        "created_at",
    )
    list_filter = ("status", ChannelFilter, "needs_attention", "superseded")
    list_select_related = ("order",)
    search_fields = ("id", "out_trade_no", "channel_trade_no", "order__id")
    actions = [
        admin_action(operations.CHECK_NOW),
        admin_action(operations.CLOSE),
        admin_action(operations.REFUND),
    ]
    change_form_template = "admin/backoffice/payment_change_form.html"

    has_recheck_permission = permission_check("payments.recheck_payment")
    has_close_permission = permission_check("payments.close_payment")
    has_refund_permission = permission_check("payments.refund_payment")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payment = self.get_object(request, unquote(object_id))
        timeline = payment_timeline(payment) if payment is not None else []
        extra_context = {"timeline": timeline, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ChannelTransaction)
class ChannelTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "channel_trade_no",
        "channel",
        short_ref("payment", "payment"),
        amount,
        "source",
        "created_at",
    )
    list_filter = (RiskFilter, ChannelFilter, "source")
    search_fields = ("channel_trade_no", "out_trade_no")


@admin.register(ChannelNotification)
class ChannelNotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "channel",
        "out_trade_no",
        "outcome",
        "error_code",  # empty on a verified callback: the signature column would repeat it
        "attempts",
        "next_attempt_at",
        "received_at",
    )
    list_filter = (RiskFilter, ChannelFilter, "outcome", "error_code")
    search_fields = ("out_trade_no",)
    readonly_fields = ("body_text",)
    actions = [admin_action(operations.REPROCESS)]

    has_reprocess_permission = permission_check("payments.reprocess_notification")

    @admin.display(description="body")
    def body_text(self, notification: ChannelNotification) -> str:
        return bytes(notification.body).decode("utf-8", errors="replace")


@admin.register(Refund)
class RefundAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = (
        short_pk,
        short_ref("payment", "payment"),
        amount,
        "reason",
        "status",
        "channel_said",  # needs attention: a filter and a dashboard line, not a column
        "created_at",
    )
    list_filter = (RiskFilter, "status", "reason", "needs_attention")
    search_fields = ("id", "out_refund_no", "payment__id", "payment__order__id")
    csv_columns = (
        ("refund", "id"),
        ("payment", "payment_id"),
        ("order", "payment.order_id"),
        ("out_refund_no", "out_refund_no"),
        ("channel_refund_no", "channel_refund_no"),
        ("amount_minor", "amount"),
        ("currency", "currency"),
        ("reason", "reason"),
        ("status", "status"),
        ("needs_attention", "needs_attention"),
        ("attempts", "attempts"),
        ("note", "note"),
        ("created_at", "created_at"),
        ("finished_at", "finished_at"),
    )
    list_select_related = ("payment",)

    @admin.display(description="channel last said")
    def channel_said(self, refund: Refund) -> str:
        """Why a refund that is not final is still open (the last error), briefly."""
        if not refund.last_error:
            return "—"
        brief = refund.last_error if len(refund.last_error) <= 40 else refund.last_error[:39] + "…"
        return format_html('<span title="{}">{}</span>', refund.last_error, brief)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (short_pk, "merchant", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("id",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        short_ref("event", "event"),
        "endpoint_url",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "replayed_by",
    )
    list_filter = (RiskFilter, "status")
    search_fields = ("event__id", "endpoint_url")
    list_select_related = ("event",)
    actions = [admin_action(operations.REPLAY)]

    has_replay_permission = permission_check("payments.replay_webhook")
