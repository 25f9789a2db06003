"""OpenAPI description of the partner API (drf-spectacular): errors, headers, webhook payloads."""

from pathlib import Path

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from payments.enums import EventType, PaymentStatus, RefundReason, RefundStatus

DESCRIPTION = (Path(__file__).with_name("description.md")).read_text()


class MerchantKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partner_api.auth.MerchantKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <api key>`",
        }


# --- errors and headers ----------------------------------------------------------------------


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Optional, any 1-255 visible ASCII characters (a UUID is fine). The same key with the "
        "same request replays the first answer (kept 24 h); with another request: 422; while "
        "the first is still running: 409. A 5xx answer is not kept: retry with the same key."
    ),
)
IDEMPOTENCY_KEY_REQUIRED = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "Required (400 `idempotency_key_required` without it): a refund must never happen "
        "twice. The refund and the key's answer are committed together, so a retry with the "
        "same key replays it (kept 24 h); with another request: 422; while the first is "
        "still running: 409."
    ),
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    enum=["true"],
    response=[200, 201, 400, 404, 409, 422],
    description="present when this answer is the stored answer to an earlier request",
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[409, 429, 503],
    description="seconds to wait before retrying",
)

# Single-object reads repair (payment_read_repair); lists never call a channel.
READ_REPAIR = (
    "While {what}, reading it also asks the channel how that payment stands (read repair: at "
    "most once every few seconds per payment, across all servers; a channel that does not "
    "answer within a short budget is skipped and the answer is what is known), so a lost "
    "callback is repaired here."
)

# Every error code the API can answer, by status: the one list the schema (the `code` enum and
# each response's description) is built from; tests/api/test_schema.py checks the code raises
# nothing else, and docs/api.md lists the same.
ERROR_CODES = {
    400: (
        "invalid input",
        (
            "invalid_request",
            "malformed_json",
            "invalid_idempotency_key",
            "idempotency_key_required",
            "unknown_event",
        ),
    ),
    401: ("no, wrong or deactivated API key", ("unauthenticated",)),
    404: ("no such object for this merchant", ("not_found",)),
    405: ("the endpoint does not take this method", ("method_not_allowed",)),
    406: ("the API answers only JSON", ("not_acceptable",)),
    409: (
        "refused in the object's current state",
        (
            "order_paid",
            "order_closed",
            "order_expired",
            "order_expiring",
            "payment_in_progress",
            "payment_ended",
            "payment_not_succeeded",
            "order_not_paid",
            "order_conflict",
            "idempotency_key_in_use",
        ),
    ),
    413: ("the body is larger than the server accepts", ("request_too_large",)),
    415: ("the body must be JSON", ("unsupported_media_type",)),
    422: (
        "a valid request that cannot be done",
        (
            "unknown_channel",
            "channel_refused",
            "invalid_amount",
            "refund_exceeds_payment",
            "idempotency_key_reused",
        ),
    ),
    429: (
        "rate limit reached, or too many wrong API keys from your address: see Retry-After",
        ("rate_limited",),
    ),
    500: ("unexpected error on our side: retry later", ("internal_error",)),
    503: (
        "retry after `Retry-After` seconds: we are briefly unavailable (the database or the job "
        "queue; nothing was changed, or the same Idempotency-Key replays what was), or the "
        "payment channel did not answer",
        ("service_unavailable", "channel_unavailable"),
    ),
}
ALL_ERROR_CODES = tuple(code for _, codes in ERROR_CODES.values() for code in codes)
ERROR_DESCRIPTIONS = {
    status: f"{when} ({', '.join(f'`{code}`' for code in codes)})"
    for status, (when, codes) in ERROR_CODES.items()
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=ALL_ERROR_CODES,
        help_text="stable, machine-readable: branch on it (every code is listed)",
    )
    message = serializers.CharField(help_text="for people")
    field = serializers.CharField(required=False, help_text="the input the error is about")
    request_id = serializers.CharField(
        required=False, help_text="this answer's `Request-Id` header: quote it to support"
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for an operation; 401, 429 and 503 apply to every one."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in sorted({401, 429, 503, *codes})
    }


POST_ERRORS = (400, 409, 413, 415, 422)


# --- events: the webhook body and the GET /events item -----------------------------------------


class PaymentSnapshotSerializer(serializers.Serializer):
    id = serializers.CharField()
    order = serializers.CharField()
    channel = serializers.CharField()
    out_trade_no = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    paid_at = serializers.DateTimeField(allow_null=True)


class RefundSnapshotSerializer(serializers.Serializer):
    id = serializers.CharField()
    payment = serializers.CharField()
    out_refund_no = serializers.CharField()
    status = serializers.ChoiceField(choices=RefundStatus.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    reason = serializers.ChoiceField(choices=RefundReason.choices)


# payments.events.order_payload; refund events carry the order's id instead (a oneOf, which
# drf-spectacular builds only from serializers, hence written out here).
ORDER_SNAPSHOT = {
    "type": "object",
    "required": [
        "id",
        "merchant_order_no",
        "status",
        "amount",
        "currency",
        "refunded_amount",
        "paid_payment",
        "paid_at",
    ],
    "properties": {
        "id": {"type": "string"},
        "merchant_order_no": {"type": "string"},
        "status": {"$ref": "#/components/schemas/OrderStatusEnum"},
        "amount": {"type": "integer", "format": "int64"},
        "currency": {"type": "string"},
        "refunded_amount": {"type": "integer", "format": "int64"},
        "paid_payment": {"type": "string", "nullable": True},
        "paid_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}


@extend_schema_field(
    {"oneOf": [ORDER_SNAPSHOT, {"type": "string", "description": "the order id (refund.*)"}]}
)
class OrderOrIdField(serializers.JSONField):
    pass


class EventDataSerializer(serializers.Serializer):
    order = OrderOrIdField(
        required=False,
        help_text="order.*: the order; order.paid also has `payment`; refund.*: the order id",
    )
    payment = PaymentSnapshotSerializer(required=False, help_text="payment.*, order.paid")
    refund = RefundSnapshotSerializer(required=False, help_text="refund.*")


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="stable across retries: deduplicate on it")
    type = serializers.ChoiceField(choices=EventType.choices)
    created_at = serializers.DateTimeField()
    data = EventDataSerializer()


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    has_more = serializers.BooleanField(help_text="true: ask again with the last id as `after`")


class WebhookSecretSerializer(serializers.Serializer):
    webhook_secret = serializers.CharField(help_text="sign-checking secret; shown now only")
    previous_valid_until = serializers.DateTimeField(
        help_text="until then webhooks also carry a signature made with the previous secret"
    )


def describe_api(result, generator, request, public):
    """Postprocessing hook: the guide (auth, idempotency, errors, webhooks) as the description."""
    result["info"]["description"] = DESCRIPTION
    return result
