"""Back-office actions: doors onto services, never row edits.

An action first shows a confirmation page listing the selected rows (after its form, when it
has one: the form, then a review of what was entered, then the confirmation). Confirmed, it
calls its service once per row as `Actor(ADMIN, <username>)`, so every status the service moves
carries the admin in its StatusChange; it reports one message per row, and writes one admin
LogEntry per row, so who did what is on record even when no status moved or the service refused.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.template.response import TemplateResponse

from orders.audit import Actor
from orders.enums import ActorKind
from orders.errors import Refusal

STEP = "_backoffice_step"  # POSTed by the action's own pages: "review", then "confirm"


@dataclass(frozen=True)
class ActionCall:
    """What a service call needs from the request: who, and what the form said."""

    actor: Actor
    user: object
    data: dict


@dataclass(frozen=True)
class BackOfficeAction:
    name: str
    title: str
    permission: str  # the ModelAdmin answers it with has_<permission>_permission(request)
    run: Callable[[models.Model, ActionCall], str]  # calls the service; the outcome, for people
    describe: Callable[[models.Model], str]  # a row, as the confirmation page lists it
    form_class: type[forms.Form] | None = None
    summarize: Callable[[list, dict], str] | None = None  # the review line for the form's data
    one_row: bool = False


def permission_check(perm: str) -> Callable:
    """has_<name>_permission for a ModelAdmin: the action is offered only to users with perm."""

    def check(self, request) -> bool:
        return request.user.has_perm(perm)

    return check


def admin_action(spec: BackOfficeAction) -> Callable:
    def action(modeladmin, request, queryset):
        return _perform(spec, modeladmin, request, list(queryset))

    action.__name__ = spec.name  # the admin keys actions by function name
    return admin.action(description=spec.title, permissions=[spec.permission])(action)


def _perform(spec: BackOfficeAction, modeladmin, request, rows: list):
    if spec.one_row and len(rows) != 1:
        modeladmin.message_user(request, f"{spec.title}: select exactly one row.", messages.ERROR)
        return None
    step = request.POST.get(STEP)
    form = spec.form_class(request.POST if step else None) if spec.form_class else None
    if form is not None and not (step and form.is_valid()):
        return _page(spec, modeladmin, request, rows, form, next_step="review")
    if step != "confirm":
        return _page(spec, modeladmin, request, rows, form, next_step="confirm")
    call = action_call(request, form.cleaned_data if form else {})
    for row in rows:
        outcome, level = run_one(spec, row, call)
        record_outcome(spec, modeladmin, request, row, outcome, level)
    return None


def action_call(request, data: dict) -> ActionCall:
    actor = Actor(ActorKind.ADMIN, request.user.get_username())
    return ActionCall(actor=actor, user=request.user, data=data)


def run_one(spec: BackOfficeAction, row, call: ActionCall) -> tuple[str, int]:
    """Call the action's service for one row: its outcome for people, and the message level."""
    try:
        return spec.run(row, call), messages.SUCCESS
    except Refusal as refusal:
        return f"refused: {refusal.message}", messages.WARNING


def record_outcome(spec: BackOfficeAction, modeladmin, request, row, outcome: str, level: int):
    """One LogEntry per row (refusals included) and one message."""
    modeladmin.log_change(request, row, f"{spec.title}: {outcome}")
    modeladmin.message_user(request, f"{row}: {outcome}", level)


def _page(spec, modeladmin, request, rows, form, *, next_step: str) -> TemplateResponse:
    reviewing = next_step == "confirm" and form is not None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": spec.title,
        "opts": modeladmin.opts,
        "action": spec.name,
        "rows": [(row.pk, spec.describe(row)) for row in rows],
        "form": form,
        "reviewing": reviewing,
        "review": spec.summarize(rows, form.cleaned_data) if reviewing and spec.summarize else "",
        "step_field": STEP,
        "next_step": next_step,
        "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/backoffice/action_confirmation.html", context)
