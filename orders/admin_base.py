from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and statuses change only through services, never by editing a row."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
