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
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme

from orders.audit import Actor
from orders.enums import ActorKind
from orders.errors import Refusal

STEP = "_backoffice_step"  # POSTed by the action's own pages: "review", then "confirm"
BACK = "_backoffice_back"  # the detail page an action was started from: where it returns to


@dataclass(frozen=True)
class ActionCall:
    """What a service call needs from the request: who, and what the form said."""

    actor: Actor
    user: object
    data: dict


@dataclass(frozen=True)
class Result:
    """What an action did to one row, for people. Not done (the channel did not answer, a
    callback still fails): shown as a warning, never as a success."""

    text: str
    done: bool = True


@dataclass(frozen=True)
class BackOfficeAction:
    name: str
    title: str
    permission: str  # the ModelAdmin answers it with has_<permission>_permission(request)
    run: Callable[[models.Model, ActionCall], Result]  # calls the service; what came of it
    describe: Callable[[models.Model], str]  # a row, as the confirmation page lists it
    name_row: Callable[[models.Model], str] = str  # a row, as its result message names it
    # the action's form for the selected rows and the POSTed data (None: not submitted yet)
    form: Callable[[list, dict | None], forms.Form] | None = None
    summarize: Callable[[list, dict], str] | None = None  # the review line for the form's data
    one_row: bool = False
    # why the selected rows cannot have this action at all (refused before any form), or ""
    refuse: Callable[[list], str] | None = None


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
        return _back(request)
    refusal = spec.refuse(rows) if spec.refuse else ""
    if refusal:
        modeladmin.message_user(request, f"{spec.title}: {refusal}", messages.WARNING)
        return _back(request)
    step = request.POST.get(STEP)
    form = spec.form(rows, request.POST if step else None) if spec.form else None
    if form is not None and not (step and form.is_valid()):
        return _page(spec, modeladmin, request, rows, form, next_step="review")
    if step != "confirm":
        return _page(spec, modeladmin, request, rows, form, next_step="confirm")
    call = action_call(request, form.cleaned_data if form else {})
    for row in rows:
        record_outcome(spec, modeladmin, request, row, run_one(spec, row, call))
    return _back(request)


def _back_url(request) -> str:
    back = request.POST.get(BACK, "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return back if back and safe else ""


def _back(request) -> HttpResponseRedirect | None:
    """To the detail page the action was started from; None: the admin returns to the list."""
    back = _back_url(request)
    return HttpResponseRedirect(back) if back else None


def action_call(request, data: dict) -> ActionCall:
    actor = Actor(ActorKind.ADMIN, request.user.get_username())
    return ActionCall(actor=actor, user=request.user, data=data)


def run_one(spec: BackOfficeAction, row, call: ActionCall) -> Result:
    """Call the action's service for one row: what came of it, for people."""
    try:
        return spec.run(row, call)
    except Refusal as refusal:
        return Result(f"refused: {refusal.message}", done=False)


def record_outcome(spec: BackOfficeAction, modeladmin, request, row, result: Result):
    """One LogEntry per row (refusals included) and one message: a warning unless it was done."""
    level = messages.SUCCESS if result.done else messages.WARNING
    modeladmin.log_change(request, row, f"{spec.title}: {result.text}")
    modeladmin.message_user(request, f"{spec.name_row(row)}: {result.text}", level)


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
        "back_field": BACK,
        "back": _back_url(request),
        "next_step": next_step,
        "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/backoffice/action_confirmation.html", context)
