from functools import partial

from django.db import models
from django.db.models import F, Q

from orders.enums import PAID_ORDER_STATUSES, ActorKind, OrderStatus
from orders.ids import new_public_id


class Merchant(models.Model):
    """A partner that sells through Paycenter (our own demo shop is one too)."""

    id = models.CharField(primary_key=True, max_length=32, default=partial(new_public_id, "mch"))
    name = models.CharField(max_length=200)
    # SHA-256 of the API key: keys are long random strings, so a fast hash is enough and lets
    # the key be found by an indexed lookup; the key itself is shown once and never stored.
    api_key_hash = models.CharField(max_length=64, unique=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=100)
    # During a rotation the old secret still signs webhooks (a second v1=) until this time.
    webhook_secret_previous = models.CharField(max_length=100, blank=True)
    webhook_secret_previous_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Order(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=partial(new_public_id, "ord"))
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders")
    merchant_order_no = models.CharField(max_length=64)
    amount = models.BigIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    subject = models.CharField(max_length=256)
    return_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus, default=OrderStatus.UNPAID)
    # At most one winning payment per order: a one-to-one, so the database refuses a second.
    paid_payment = models.OneToOneField(
        "payments.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="won_order",
    )
    refunded_amount = models.BigIntegerField(default=0, help_text="minor units")
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "merchant_order_no"], name="order_unique_merchant_order_no"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="order_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            # A paid order names its winner; an unpaid one has none.
            models.CheckConstraint(
                condition=(
                    Q(status__in=PAID_ORDER_STATUSES, paid_payment__isnull=False)
                    | (~Q(status__in=PAID_ORDER_STATUSES) & Q(paid_payment__isnull=True))
                ),
                name="order_paid_iff_winner",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="order_merchant_created"),
            # the back office's list, newest first, whatever the table's size
            models.Index(fields=["created_at", "id"], name="order_created"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=["UNPAID", "PAYING"]),
                name="order_open_expires",
            ),
        ]

    def __str__(self) -> str:
        return self.id


class StatusChange(models.Model):
    """The audit trail: every transition of an order, payment or refund, and who caused it."""

    class Entity(models.TextChoices):
        ORDER = "order"
        PAYMENT = "payment"
        REFUND = "refund"

    entity = models.CharField(max_length=16, choices=Entity)
    entity_id = models.CharField(max_length=32)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor_kind = models.CharField(max_length=20, choices=ActorKind)
    actor_ref = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["entity", "entity_id"], name="statuschange_entity")]

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id}: {self.from_status or '∅'} → {self.to_status}"
