from django.contrib import admin

from backoffice.admin_base import ReadOnlyAdmin, amount, short_pk
from orders.models import Merchant, Order, StatusChange


@admin.register(Merchant)
class MerchantAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "webhook_url", "is_active", "created_at")
    search_fields = ("id", "name")
    exclude = ("api_key_hash", "webhook_secret", "webhook_secret_previous")


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    fields = (
        "created_at",
        "entity",
        "entity_id",
        "from_status",
        "to_status",
        "actor_kind",
        "actor_ref",
        "note",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        short_pk,
        "merchant_name",
        "merchant_order_no",
        amount,
        "status",
        "expires_at",
        "created_at",
    )
    list_select_related = ("merchant",)
    list_filter = ("status", "currency", "merchant")
    search_fields = ("id", "merchant_order_no")
    inlines = [StatusChangeInline]

    @admin.display(description="merchant", ordering="merchant__name")
    def merchant_name(self, order) -> str:
        return order.merchant.name
