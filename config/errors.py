"""The last word on an exception no view answered (Django's handler500, used when DEBUG is off).

An outage (payments.outages) is a retryable 503 with Retry-After in the language of the door
that was asked: the API's JSON error, the channel's own refusal dialect on a callback URL (the
channel sends the callback again; nothing was stored, so nothing is acknowledged), a "try again
in a moment" page elsewhere. Nothing here may touch the database. Anything else is a 500, JSON
under the API.
"""

import sys

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.views import defaults

from partner_api.errors import error_json, outage_json
from payments.outages import is_outage, retry_after
from payments.services.notifications import notification_unavailable_answer

API_PREFIX = "/api/"


def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if error is not None and is_outage(error):
        return _unavailable(request)
    if request.path.startswith(API_PREFIX):
        return error_json(500, "internal_error", "unexpected error; retry later")
    return defaults.server_error(request)


def _unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return outage_json()
    if channel := _callback_channel(request):
        answer = notification_unavailable_answer(channel)
        response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    else:
        response = HttpResponse(render_to_string("checkout/unavailable.html"), status=503)
    response["Retry-After"] = retry_after()
    return response


def _callback_channel(request: HttpRequest) -> str | None:
    try:
        match = request.resolver_match or resolve(request.path_info)
    except Resolver404:
        return None
    return match.kwargs.get("channel") if match.url_name == "callback" else None
