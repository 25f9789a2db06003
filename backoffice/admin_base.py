from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.template.loader import render_to_string
from django.utils.html import format_html

from backoffice.actions import BACK
from orders.ids import is_id_shaped
from payments.templatetags.money import money

# Model fields a detail page shows for people instead of raw: (field, ReadOnlyAdmin method).
SHOWN_INSTEAD = (
    ("amount", "amount_for_people"),
    ("refunded_amount", "refunded_for_people"),
    ("pay_action", "pay_action_for_people"),
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money and statuses change only through services, never by editing a row: no add, no
    change (a POSTed change form is refused), no delete. Actions are the only doors. Detail
    pages read like the lists: money as "CNY 12.80", the pay action as what the customer saw,
    the actions as buttons (admin/backoffice/change_form.html)."""

    change_form_template = "admin/backoffice/change_form.html"
    # A list counts the rows its filters select, not the whole table as well (a second count
    # over millions of rows on every page, for "N of M").
    show_full_result_count = False

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

    def get_fields(self, request, obj=None):
        instead = dict(self._shown_instead())
        fields = [instead.get(name, name) for name in super().get_fields(request, obj)]
        return list(dict.fromkeys(fields))  # each in the raw field's place, once

    def get_readonly_fields(self, request, obj=None):
        shown = [method for _, method in self._shown_instead()]
        return (*super().get_readonly_fields(request, obj), *shown)

    def _shown_instead(self) -> list[tuple[str, str]]:
        names = {field.name for field in self.model._meta.get_fields()}
        return [(field, method) for field, method in SHOWN_INSTEAD if field in names]

    @admin.display(description="amount")
    def amount_for_people(self, obj) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="refunded")
    def refunded_for_people(self, obj) -> str:
        return money(obj.refunded_amount, obj.currency)

    @admin.display(description="pay action")
    def pay_action_for_people(self, obj) -> str:
        action = obj.pay_action or {}
        url = action.get("url", "")
        return render_to_string(
            "admin/backoffice/includes/pay_action.html",
            {"action": action, "url": url if url.startswith(("https://", "http://")) else ""},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {
            "row_actions": self._row_actions(request),
            "back_field": BACK,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def _row_actions(self, request) -> list[tuple[str, str]]:
        """(name, title) of each action this user may run, as buttons on the detail page."""
        return [
            (name, title)
            for name, (_, _, title) in self.get_actions(request).items()
            if name != "delete_selected"
        ]

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


def short_ref(field: str, description: str):
    """A list column of a foreign key's id, shortened (the full id on hover)."""

    @admin.display(description=description, ordering=field)
    def column(obj) -> str:
        return short_id(getattr(obj, f"{field}_id"))

    column.__name__ = f"{field}_short"
    return column
