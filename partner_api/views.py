"""Partner API views: authenticate, validate, call one service or selector, shape the answer."""

from datetime import UTC

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView
from structlog.contextvars import bind_contextvars

from orders.audit import Actor
from orders.enums import ActorKind
from orders.services import order_submit
from partner_api import schema
from partner_api.auth import IsMerchant, MerchantKeyAuthentication
from partner_api.errors import ApiError, error_json
from partner_api.idempotency import IdempotentPostMixin
from partner_api.pagination import PAGE_PARAMETERS, OrderCursorPagination
from partner_api.serializers import (
    EventFeedQuerySerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderFilterSerializer,
    OrderPageSerializer,
    OrderSerializer,
    PaymentSerializer,
    PaymentStartSerializer,
    RefundCreateSerializer,
    RefundSerializer,
)
from partner_api.throttles import MerchantRateThrottle
from payments.queue import jobs_backlog_check
from payments.selectors import (
    UnknownEvent,
    merchant_events_after,
    merchant_order,
    merchant_order_id,
    merchant_orders,
    merchant_payment,
    merchant_refund,
)
from payments.services.attempts import payment_start
from payments.services.checks import (
    order_read_repair,
    payment_check_now,
    payment_read_repair,
)
from payments.services.order_closing import order_close
from payments.services.order_refunds import order_refund_request
from payments.webhooks.envelope import event_envelope
from payments.webhooks.signing import merchant_webhook_secret_rotate

POST = {"parameters": [schema.IDEMPOTENCY_KEY, schema.REPLAYED, schema.RETRY_AFTER]}
MONEY_POST = {"parameters": [schema.IDEMPOTENCY_KEY_REQUIRED, schema.REPLAYED, schema.RETRY_AFTER]}
GET = {"parameters": [schema.RETRY_AFTER]}


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PartnerView(IdempotentPostMixin, APIView):
    authentication_classes = [MerchantKeyAuthentication]
    permission_classes = [IsMerchant]
    throttle_classes = [MerchantRateThrottle]

    def dispatch(self, request, *args, **kwargs):
        # The API speaks UTC ("Z"), whatever TIME_ZONE people read the pages in.
        with timezone.override(UTC):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        if request.method == "POST":
            jobs_backlog_check()  # new work only while the job queue can take it (else 503)
        super().initial(request, *args, **kwargs)
        # Authenticated: every log line of this request names the merchant acting.
        bind_contextvars(merchant=self.merchant.pk, actor=str(self.actor))

    @property
    def merchant(self):
        return self.request.user

    @property
    def actor(self) -> Actor:
        return Actor(ActorKind.PARTNER_API, self.merchant.pk)


class OrdersView(PartnerView):
    transactional = True

    @extend_schema(
        operation_id="orders_list",
        parameters=[OrderFilterSerializer, *PAGE_PARAMETERS, schema.RETRY_AFTER],
        responses={200: OrderPageSerializer, **schema.errors(400)},
        description="Your orders, newest first (cursor pagination), as stored: a list never "
        "asks a channel (read one order to have it checked).",
    )
    def get(self, request):
        filters = validated(OrderFilterSerializer, request.query_params)
        paginator = OrderCursorPagination()
        page = paginator.paginate_queryset(
            merchant_orders(merchant=self.merchant, **filters), request, view=self
        )
        return paginator.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        operation_id="orders_create",
        request=OrderCreateSerializer,
        responses={
            201: OrderDetailSerializer,
            200: OpenApiResponse(OrderDetailSerializer, description="the order already existed"),
            **schema.errors(*schema.POST_ERRORS),
        },
        description="Create an order. The same merchant_order_no and content again: the same "
        "order (200); other content: 409 `order_conflict`.",
        **POST,
    )
    def post(self, request):
        order, created = order_submit(
            merchant=self.merchant,
            actor=self.actor,
            **validated(OrderCreateSerializer, request.data),
        )
        return Response(
            OrderDetailSerializer(order, context={"new_order": created}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OrderView(PartnerView):
    @extend_schema(
        operation_id="orders_retrieve",
        responses={200: OrderDetailSerializer, **schema.errors(404)},
        **GET,
        description="An order with its payment attempts and refunds. "
        + schema.READ_REPAIR.format(what="the order has an open payment attempt"),
    )
    def get(self, request, order_id: str):
        order = merchant_order(merchant=self.merchant, order_id=order_id)
        if order_read_repair(order=order, actor=self.actor):
            order = merchant_order(merchant=self.merchant, order_id=order_id)
        return Response(OrderDetailSerializer(order).data)


class OrderPaymentsView(PartnerView):
    @extend_schema(
        operation_id="orders_payments_create",
        request=PaymentStartSerializer,
        responses={200: PaymentSerializer, **schema.errors(404, 503, *schema.POST_ERRORS)},
        description="Start paying on a channel, or get the attempt already open on it (a "
        "double click creates nothing). An attempt open on another channel is closed first.",
        **POST,
    )
    def post(self, request, order_id: str):
        own_order_id = merchant_order_id(merchant=self.merchant, order_id=order_id)
        payment = payment_start(
            order_id=own_order_id,
            actor=self.actor,
            **validated(PaymentStartSerializer, request.data),
        )
        return Response(PaymentSerializer(payment).data)


class OrderCloseView(PartnerView):
    @extend_schema(
        operation_id="orders_close",
        request=None,
        responses={200: OrderDetailSerializer, **schema.errors(404, *schema.POST_ERRORS)},
        description="Close an unpaid order after closing its open attempts at their channels "
        "(an order already closed: the same answer). 409 `order_paid` when the order is paid, "
        "also when the close finds its attempt paid at the channel (refund it instead); 409 "
        "`payment_in_progress` when a channel could not confirm the close yet.",
        **POST,
    )
    def post(self, request, order_id: str):
        order = order_close(
            order_id=merchant_order_id(merchant=self.merchant, order_id=order_id),
            actor=self.actor,
            note="closed by the partner",
        )
        return Response(OrderDetailSerializer(order).data)


class OrderRefundsView(PartnerView):
    idempotency_required = True
    transactional = True

    @extend_schema(
        operation_id="orders_refunds_create",
        request=RefundCreateSerializer,
        responses={201: RefundSerializer, **schema.errors(404, *schema.POST_ERRORS)},
        description="Refund all or part of a paid order. The refund is executed at the "
        "channel in the background: watch for `refund.succeeded` / `refund.failed`.",
        **MONEY_POST,
    )
    def post(self, request, order_id: str):
        own_order_id = merchant_order_id(merchant=self.merchant, order_id=order_id)
        data = validated(RefundCreateSerializer, request.data)
        refund = order_refund_request(
            order_id=own_order_id,
            amount=data["amount"],
            note=data["reason"],
            actor=self.actor,
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class PaymentView(PartnerView):
    @extend_schema(
        operation_id="payments_retrieve",
        responses={200: PaymentSerializer, **schema.errors(404)},
        description="The payment. " + schema.READ_REPAIR.format(what="it is open"),
        **GET,
    )
    def get(self, request, payment_id: str):
        payment = merchant_payment(merchant=self.merchant, payment_id=payment_id)
        if payment_read_repair(payment=payment, actor=self.actor):
            payment.refresh_from_db()
        return Response(PaymentSerializer(payment).data)


class PaymentSyncView(PartnerView):
    @extend_schema(
        operation_id="payments_sync",
        request=None,
        responses={200: PaymentSerializer, **schema.errors(404, *schema.POST_ERRORS)},
        description="Ask the channel now how the payment stands and apply its answer.",
        **POST,
    )
    def post(self, request, payment_id: str):
        payment = merchant_payment(merchant=self.merchant, payment_id=payment_id)
        payment_check_now(payment_id=payment.pk, actor=self.actor)
        payment.refresh_from_db()
        return Response(PaymentSerializer(payment).data)


class RefundView(PartnerView):
    @extend_schema(
        operation_id="refunds_retrieve",
        responses={200: RefundSerializer, **schema.errors(404)},
        **GET,
    )
    def get(self, request, refund_id: str):
        return Response(
            RefundSerializer(merchant_refund(merchant=self.merchant, refund_id=refund_id)).data
        )


class EventsView(PartnerView):
    @extend_schema(
        operation_id="events_list",
        parameters=[EventFeedQuerySerializer, schema.RETRY_AFTER],
        responses={200: schema.EventPageSerializer, **schema.errors(400)},
        description="Your events, oldest first: the same objects as the webhook bodies.",
    )
    def get(self, request):
        query = validated(EventFeedQuerySerializer, request.query_params)
        try:
            events, has_more = merchant_events_after(
                merchant=self.merchant, after=query.get("after"), limit=query["limit"]
            )
        except UnknownEvent:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST, "unknown_event", "no such event", field="after"
            ) from None
        return Response({"results": [event_envelope(e) for e in events], "has_more": has_more})


class WebhookSecretRotateView(PartnerView):
    transactional = True

    @extend_schema(
        operation_id="webhook_secret_rotate",
        request=None,
        responses={200: schema.WebhookSecretSerializer, **schema.errors(*schema.POST_ERRORS)},
        description="Replace your webhook secret. The previous one keeps signing too (a second "
        "`v1=`) until `previous_valid_until`, so receivers can switch without a gap.",
        **POST,
    )
    def post(self, request):
        merchant = merchant_webhook_secret_rotate(merchant_id=self.merchant.pk, actor=self.actor)
        answer = {
            "webhook_secret": merchant.webhook_secret,
            "previous_valid_until": merchant.webhook_secret_previous_until,
        }
        return Response(schema.WebhookSecretSerializer(answer).data)


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under /api/v1/: the same JSON error shape as everything else."""
    return error_json(status.HTTP_404_NOT_FOUND, "not_found", "no such endpoint")
