"""Input validation and output shapes. No business rules: those are the services' answers."""

import copy

from django.conf import settings
from django.core.validators import RegexValidator
from django.db.models import prefetch_related_objects
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.enums import OrderStatus
from orders.models import Order
from payments.currencies import ISO_4217
from payments.enums import PaymentClient, PaymentStatus
from payments.models import Payment, Refund

# Minor units. Far above any real order, and far below 2**53, so every JSON parser reads it exactly.
MAX_AMOUNT = 10**12
# Printable ASCII, no spaces: safe in logs, URLs and every channel's merchant reference.
REFERENCE = RegexValidator(r"^[\x21-\x7e]+$", "use visible ASCII characters only")
PUBLIC_ID = r"^[A-Za-z0-9_]{1,32}$"
# Paying stops TIME_EXPIRE_MARGIN_SECONDS before an order expires (the channels' time_expire);
# an order must leave a customer at least ORDER_MIN_PAYABLE_SECONDS to pay after that.
MIN_PAYABLE_SECONDS = settings.ORDER_MIN_PAYABLE_SECONDS
MIN_EXPIRES_IN = settings.TIME_EXPIRE_MARGIN_SECONDS + MIN_PAYABLE_SECONDS


class FieldsBuiltOnce:
    """Serializer mixin: the fields are built once per class, not once per instance.

    DRF builds every field of a serializer again for each instance it makes (deep copies of the
    declared fields, and a ModelSerializer introspects its model again), which cost more than
    the rest of creating an order. Here each instance binds shallow copies of fields built once:
    a field's settings (validators, choices, formats) are never changed once it is made, only
    its binding (name, parent, source) is the instance's. A nested serializer, or a field with
    a child field, is still deep-copied: its children are bound to it."""

    def get_fields(self) -> dict:
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built  # two threads building it at once build the same
        return {name: _unbound_copy(field) for name, field in built.items()}


def _unbound_copy(field: serializers.Field) -> serializers.Field:
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child"):
        return copy.deepcopy(field)
    return copy.copy(field)


class Serializer(FieldsBuiltOnce, serializers.Serializer):
    pass


class ModelSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    pass


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: DRF would also take "100", 100.0 and true."""

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


def amount_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(
        min_value=1,
        max_value=MAX_AMOUNT,
        help_text="integer in the currency's minor unit (cents, fen), never a decimal",
        **kwargs,
    )


class OrderCreateSerializer(Serializer):
    merchant_order_no = serializers.CharField(
        max_length=64,
        validators=[REFERENCE],
        help_text="your order number: unique per merchant, resubmitting it returns the order",
    )
    amount = amount_field()
    currency = serializers.ChoiceField(choices=sorted(ISO_4217), help_text="ISO 4217 code")
    subject = serializers.CharField(max_length=256, help_text="shown to the customer")
    expires_in = StrictIntegerField(
        min_value=MIN_EXPIRES_IN,
        max_value=86_400,
        required=False,
        error_messages={
            "min_value": (
                f"must be at least {MIN_EXPIRES_IN} seconds: paying stops "
                f"{settings.TIME_EXPIRE_MARGIN_SECONDS} s before the order expires, and a "
                f"customer needs at least {MIN_PAYABLE_SECONDS} s to pay"
            )
        },
        help_text=(
            f"seconds until the order expires (default 1800), at least {MIN_EXPIRES_IN}: "
            f"paying stops {settings.TIME_EXPIRE_MARGIN_SECONDS} s before it"
        ),
    )
    return_url = serializers.URLField(
        max_length=500,
        required=False,
        default="",
        validators=[RegexValidator(r"^https?://", "use an http(s) URL")],
        help_text="where the checkout page sends the customer back when the payment settles",
    )


class PaymentStartSerializer(Serializer):
    channel = serializers.CharField(max_length=32, help_text="a channel code, e.g. `sandbox`")
    client = serializers.ChoiceField(
        choices=PaymentClient.choices,
        default=PaymentClient.PC,
        help_text="`pc`: a QR code to show; `mobile`: a URL to redirect the customer to",
    )


class RefundCreateSerializer(Serializer):
    amount = amount_field()
    reason = serializers.CharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="free text kept with the refund (its `note`)",
    )


class OrderFilterSerializer(Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    merchant_order_no = serializers.CharField(max_length=64, required=False)
    created_after = serializers.DateTimeField(required=False, help_text="inclusive, ISO 8601")
    created_before = serializers.DateTimeField(required=False, help_text="exclusive, ISO 8601")


class EventFeedQuerySerializer(Serializer):
    after = serializers.RegexField(
        PUBLIC_ID,
        required=False,
        help_text="the last event id you processed from this feed; omit to start at the oldest",
    )
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class PayActionSerializer(Serializer):
    type = serializers.ChoiceField(choices=["qr", "redirect"])
    qr_content = serializers.CharField(required=False, help_text="encode as a QR code (pc)")
    url = serializers.URLField(required=False, help_text="redirect the customer here (mobile)")


class PaymentSerializer(ModelSerializer):
    order = serializers.CharField(source="order_id", read_only=True)
    action = PayActionSerializer(
        source="pay_action",
        allow_null=True,
        read_only=True,
        help_text="what the customer needs to pay; null until the channel created the trade",
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "order",
            "channel",
            "client",
            "out_trade_no",
            "status",
            "amount",
            "currency",
            "action",
            "channel_trade_no",
            "paid_at",
            "created_at",
        ]
        read_only_fields = fields


class RefundSerializer(ModelSerializer):
    payment = serializers.CharField(source="payment_id", read_only=True)
    order = serializers.CharField(source="payment.order_id", read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "order",
            "payment",
            "out_refund_no",
            "amount",
            "currency",
            "status",
            "reason",
            "note",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "reason": {"help_text": "MERCHANT_REQUEST for yours; automatic ones explain why"}
        }


class OrderSerializer(ModelSerializer):
    paid_payment = serializers.CharField(source="paid_payment_id", read_only=True, allow_null=True)
    return_url = serializers.CharField(read_only=True, help_text="empty when none was given")
    checkout_url = serializers.SerializerMethodField(
        help_text="the hosted checkout page: send your customer here"
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "merchant_order_no",
            "status",
            "amount",
            "currency",
            "subject",
            "refunded_amount",
            "paid_payment",
            "checkout_url",
            "return_url",
            "expires_at",
            "paid_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_checkout_url(self, order: Order) -> str:
        return settings.PUBLIC_BASE_URL + reverse("checkout", args=[order.pk])


class OrderPageSerializer(Serializer):
    next = serializers.URLField(allow_null=True, help_text="the next page, null on the last")
    previous = serializers.URLField(allow_null=True)
    results = OrderSerializer(many=True)


class OrderDetailSerializer(OrderSerializer):
    """An order with its payment attempts and refunds; context ``new_order``: one just created."""

    payments = PaymentSerializer(many=True, read_only=True)
    refunds = serializers.SerializerMethodField()

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "payments", "refunds"]
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict:
        if self.context.get("new_order"):
            # An order just created has no payment attempt and no refund: nothing to read.
            return {
                **OrderSerializer(order, context=self.context).data,
                "payments": [],
                "refunds": [],
            }
        prefetch_related_objects([order], "payments")  # once for both lists (a no-op if done)
        return super().to_representation(order)

    @extend_schema_field(RefundSerializer(many=True))
    def get_refunds(self, order: Order) -> list:
        # Refunds are of succeeded payments only (refund_create refuses any other, and
        # SUCCEEDED is final): an order none of whose attempts succeeded has none to read, and
        # the others' are read by those payments, already at hand (no join back to them).
        succeeded = {
            payment.pk: payment
            for payment in order.payments.all()
            if payment.status == PaymentStatus.SUCCEEDED
        }
        if not succeeded:
            return []
        refunds = list(Refund.objects.filter(payment_id__in=succeeded).order_by("created_at"))
        for refund in refunds:
            refund.payment = succeeded[refund.payment_id]
        return RefundSerializer(refunds, many=True).data
