from django.contrib import admin

from orders.admin_base import ReadOnlyAdmin
from payments.models import ChannelNotification, ChannelTransaction, Event, Payment, Refund


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order",
        "channel",
        "out_trade_no",
        "amount",
        "currency",
        "status",
        "needs_attention",
        "created_at",
    )
    list_filter = ("status", "channel", "needs_attention", "superseded")
    search_fields = ("id", "out_trade_no", "channel_trade_no", "order__id")


@admin.register(ChannelTransaction)
class ChannelTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "channel",
        "channel_trade_no",
        "out_trade_no",
        "amount",
        "currency",
        "source",
        "created_at",
    )
    list_filter = ("channel", "source")
    search_fields = ("channel_trade_no", "out_trade_no")


@admin.register(ChannelNotification)
class ChannelNotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "channel",
        "out_trade_no",
        "outcome",
        "error_code",
        "signature_valid",
        "received_at",
    )
    list_filter = ("channel", "outcome", "error_code")
    search_fields = ("out_trade_no",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "payment",
        "out_refund_no",
        "amount",
        "currency",
        "reason",
        "status",
        "needs_attention",
        "created_at",
    )
    list_filter = ("status", "reason", "needs_attention")
    search_fields = ("id", "out_refund_no", "payment__id")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "merchant", "type", "created_at")
    list_filter = ("type",)
