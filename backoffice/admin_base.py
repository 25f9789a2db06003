from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.utils.html import format_html

from orders.ids import is_id_shaped
from payments.templatetags.money import money


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and statuses change only through services, never by editing a row: no add, no
    change (a POSTed change form is refused), no delete. Actions are the only doors."""

    # Django 6 changes forms.URLField's default scheme; say ours (the view-only form still
    # builds its fields, and would warn on every page).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changelist_instance(self, request):
        # A NUL byte in a filter, the search or a selected row would fail in PostgreSQL: it is
        # a filter that cannot match, answered as Django answers any bad filter.
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        values = [value for _, values in request.GET.lists() for value in values]
        if any("\x00" in value for value in [*values, *selected]):
            raise IncorrectLookupParameters("a NUL byte cannot match anything")
        return super().get_changelist_instance(request)

    def get_object(self, request, object_id, from_field=None):
        # an id we never issue does not exist (and a NUL byte in it would fail in PostgreSQL)
        if not is_id_shaped(object_id):
            return None
        return super().get_object(request, object_id, from_field)


@admin.display(description="amount", ordering="amount")
def amount(obj) -> str:
    """An amount for people (integer minor units formatted with its currency), on one line."""
    return money(obj.amount, obj.currency).replace(" ", "\u00a0")


def short_id(public_id: str) -> str:
    """pay_1a2b3c4d… with the full id on hover: ids are 28 characters, the lists need width."""
    prefix, _, rest = public_id.partition("_")
    if len(rest) <= 8:
        return public_id
    return format_html('<span title="{}">{}_{}…</span>', public_id, prefix, rest[:8])


@admin.display(description="id", ordering="pk")
def short_pk(obj) -> str:
    return short_id(obj.pk)
