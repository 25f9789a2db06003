"""Every API error is JSON: `{"error": {"code", "message", "field"?, "request_id"?}}` with the
right status (request_id: the answer's Request-Id header).

Registered as DRF's EXCEPTION_HANDLER. Service refusals (orders.errors.Refusal) keep their code;
an outage (payments.outages) is a `503 service_unavailable` with Retry-After; anything
unexpected is logged and answered as a JSON 500, never an HTML page. `error_json` gives the same
shape outside DRF (config's last-resort error handler).
"""

import logging
import math

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback
from structlog.contextvars import get_contextvars

from orders.errors import Refusal
from payments import outages

logger = logging.getLogger(__name__)

# A refusal is a conflict with the object's current state (409) unless listed here.
REFUSAL_STATUS = {
    "unknown_channel": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "channel_refused": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "invalid_amount": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "refund_exceeds_payment": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "channel_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}
# Codes for DRF's own exceptions, named for partners rather than after DRF's internals.
API_EXCEPTION_CODES = {
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_json",
    exceptions.Throttled: "rate_limited",
}


class ApiError(exceptions.APIException):
    """An answer decided by the API layer itself (idempotency keys, cursors)."""

    def __init__(self, status_code: int, code: str, message: str, *, field=None, headers=None):
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.field = field
        self.headers = headers or {}


def error_body(code: str, message: str, field=None) -> dict:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    # The same id as the Request-Id header, for a partner who quotes the body to support.
    if request_id := get_contextvars().get("request_id"):
        error["request_id"] = request_id
    return {"error": error}


def error_response(status_code: int, code: str, message: str, *, field=None, headers=None):
    return Response(error_body(code, message, field), status=status_code, headers=headers)


def error_json(status_code: int, code: str, message: str, *, headers=None) -> JsonResponse:
    """The same error as a plain Django response, for answers made outside DRF."""
    return JsonResponse(error_body(code, message), status=status_code, headers=headers)


OUTAGE = (status.HTTP_503_SERVICE_UNAVAILABLE, "service_unavailable", outages.MESSAGE)


def outage_json() -> JsonResponse:
    return error_json(*OUTAGE, headers={"Retry-After": outages.retry_after()})


def exception_handler(exc, context) -> Response:
    set_rollback()
    if outages.is_outage(exc):
        logger.warning("service unavailable: %s: %s", type(exc).__name__, exc)
        return error_response(*OUTAGE, headers={"Retry-After": outages.retry_after()})
    if isinstance(exc, ApiError):
        return error_response(
            exc.status_code, exc.code, str(exc.detail), field=exc.field, headers=exc.headers
        )
    if isinstance(exc, Refusal):
        status_code = REFUSAL_STATUS.get(exc.code, status.HTTP_409_CONFLICT)
        headers = {"Retry-After": "5"} if status_code == 503 else None
        return error_response(status_code, exc.code, exc.message, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "request_too_large", "the body is too large"
        )
    if isinstance(exc, Http404):
        return error_response(status.HTTP_404_NOT_FOUND, "not_found", "no such object")
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        return error_response(
            status.HTTP_400_BAD_REQUEST, "invalid_request", message, field=field or None
        )
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc)
    logger.exception("unexpected API error", exc_info=exc)
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "unexpected error; retry later"
    )


def _api_exception_response(exc: exceptions.APIException) -> Response:
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    if auth_header := getattr(exc, "auth_header", None):  # set by DRF on a 401
        headers["WWW-Authenticate"] = auth_header
    code = API_EXCEPTION_CODES.get(type(exc), str(exc.default_code))
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def _first_error(detail, path: str = "") -> tuple[str, str]:
    """(dotted field path, message) of the first validation error in DRF's nested detail."""
    if isinstance(detail, dict) and detail:
        name, inner = next(iter(detail.items()))
        name = "" if name == "non_field_errors" else str(name)
        return _first_error(inner, ".".join(part for part in (path, name) if part))
    if isinstance(detail, list):
        # a list serializer reports {} for its valid items
        first = next((item for item in detail if item), None)
        if first is not None:
            return _first_error(first, path)
    message = str(detail) if detail else "invalid"
    return path, f"{path}: {message}" if path else message
