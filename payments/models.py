from functools import partial

from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.enums import ActorKind
from orders.ids import new_channel_number, new_public_id
from payments.channels.base import RefundRef, TradeRef
from payments.db import CurrentTransactionId, NextEventSequence
from payments.enums import (
    AUTOMATIC_REFUND_REASONS,
    OPEN_PAYMENT_STATUSES,
    DeliveryStatus,
    EventType,
    NotificationOutcome,
    PaymentClient,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    TransactionSource,
)


class Payment(models.Model):
    """One payment attempt on one channel. Its out_trade_no is our idempotency key there."""

    id = models.CharField(primary_key=True, max_length=32, default=partial(new_public_id, "pay"))
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    channel = models.CharField(max_length=32)
    client = models.CharField(max_length=8, choices=PaymentClient, default=PaymentClient.PC)
    out_trade_no = models.CharField(
        max_length=64, unique=True, default=partial(new_channel_number, "P")
    )
    amount = models.BigIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus, default=PaymentStatus.UNPAID)
    # What the customer is shown to pay: {"type": "qr"|"redirect", "qr_content"?, "url"?}.
    pay_action = models.JSONField(null=True, blank=True)
    # NULL, not "", until the channel names the trade: NULLs do not collide in the unique index.
    channel_trade_no = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # What else the channel returned at create that its later calls need (a session id…).
    channel_refs = models.JSONField(default=dict, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Set while a close is being asked of the channel (committed before the call goes out).
    closing_since = models.DateTimeField(null=True, blank=True)
    # A channel that cannot close: this attempt was replaced but is still queried and refunded
    # if it ever succeeds. Superseded attempts do not count as "the open attempt".
    superseded = models.BooleanField(default=False)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # When a reader last claimed the read-repair window while Redis was down (its fallback).
    read_repair_at = models.DateTimeField(null=True, blank=True)
    check_attempts = models.PositiveIntegerField(default=0)
    needs_attention = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=OPEN_PAYMENT_STATUSES, superseded=False),
                name="payment_one_open_attempt_per_order",
            ),
            models.UniqueConstraint(
                fields=["channel", "channel_trade_no"],
                condition=Q(channel_trade_no__isnull=False),
                name="payment_unique_channel_trade_no",
            ),
        ]
        indexes = [
            # The payment checks read only payments with a check scheduled (open ones, and closed
            # ones until their deadline): a tick's cost follows due work, not the table.
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="payment_scheduled_check",
            ),
            # The stuck list and the dashboard read open payments only (every reason to be
            # stuck is an open one): their cost follows the open payments, not the table.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=OPEN_PAYMENT_STATUSES),
                name="payment_open_created",
            ),
            # the back office's list, newest first; each channel's first payment (the days
            # its statements are reconciled from)
            models.Index(fields=["created_at", "id"], name="payment_created"),
            models.Index(fields=["channel", "created_at"], name="payment_channel_created"),
        ]
        # Back-office actions: each one is a door onto a service, granted apart.
        permissions = [
            ("recheck_payment", "Can check a payment at its channel now"),
            ("close_payment", "Can close a payment at its channel"),
            ("refund_payment", "Can refund a payment"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PAYMENT_STATUSES

    @property
    def trade_ref(self) -> TradeRef:
        """How the channel knows this attempt, for every call after create."""
        return TradeRef(
            out_trade_no=self.out_trade_no,
            channel_trade_no=self.channel_trade_no,
            refs=dict(self.channel_refs),
        )


class PaymentCheck(models.Model):
    """One question to a payment's channel (a query, or a close) and what came of it: the admin
    timeline, and what the channel last said about a payment that needs finance."""

    class Call(models.TextChoices):
        QUERY = "query"
        CLOSE = "close"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="checks")
    call = models.CharField(max_length=8, choices=Call, default=Call.QUERY)
    actor_kind = models.CharField(max_length=20, choices=ActorKind)
    actor_ref = models.CharField(max_length=200, blank=True)
    answer = models.CharField(max_length=16)  # the channel's TradeStatus
    # what payment_apply_channel_result made of a query's answer; a close's CloseOutcome
    outcome = models.CharField(max_length=24)
    error = models.CharField(max_length=500, blank=True)
    asked_at = models.DateTimeField()  # before the call: the timeline reads cause, then effect

    class Meta:
        ordering = ["asked_at", "id"]
        verbose_name_plural = "payment checks"

    def __str__(self) -> str:
        return f"{self.payment_id} {self.call}: {self.answer} → {self.outcome}"


class ChannelTransaction(models.Model):
    """A success a channel confirmed. Inserting it is how the system learns a success exactly
    once, whichever path (callback, query, statement) saw it first."""

    channel = models.CharField(max_length=32)
    channel_trade_no = models.CharField(max_length=64)
    out_trade_no = models.CharField(max_length=64)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="transactions")
    amount = models.BigIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default=PaymentStatus.SUCCEEDED)
    paid_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=TransactionSource)
    raw = models.JSONField(default=dict)
    # This success paid its order (set in the transaction that made the payment the order's
    # paid_payment, and never changed: a winner stays one, an extra never becomes one). Every
    # other success is money to give back; the default says so, so a row written without
    # thought is shown to finance rather than hidden; the database default too (code of the
    # release before, running while this column is added, does not name it).
    paid_order = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "channel_trade_no"], name="channeltx_unique_channel_trade_no"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="channeltx_amount_positive"),
        ]
        indexes = [
            # the dashboard's extra successes: read from the few, not from every success
            models.Index(fields=["payment"], condition=Q(paid_order=False), name="channeltx_extra"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.channel_trade_no}"


class ChannelNotification(models.Model):
    """The inbox: every inbound callback, stored raw BEFORE it is verified or processed."""

    channel = models.CharField(max_length=32)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    peer = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    signature_valid = models.BooleanField(null=True)
    out_trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    # Filled only once the notification is verified and fresh; the unique constraint makes a
    # replayed nonce fail even when two replays race.
    accepted_nonce = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    outcome = models.CharField(
        max_length=16, choices=NotificationOutcome, default=NotificationOutcome.RECEIVED
    )
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Processing that raised (not a rejection: our side failed) is tried again with back-off,
    # then DEAD; the last error is kept for whoever replays it.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "accepted_nonce"], name="notification_unique_nonce"
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(outcome="RECEIVED"),
                name="notification_unprocessed",
            ),
        ]
        permissions = [("reprocess_notification", "Can reprocess a stored callback")]

    def __str__(self) -> str:
        return f"{self.channel} callback #{self.pk} ({self.outcome})"


class Refund(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=partial(new_public_id, "re"))
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(
        max_length=64, unique=True, default=partial(new_channel_number, "R")
    )
    amount = models.BigIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=24, choices=RefundReason)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=RefundStatus, default=RefundStatus.PENDING)
    channel_refund_no = models.CharField(max_length=64, blank=True)
    # What else the channel returned for this refund that its later calls need.
    channel_refs = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The one caller talking to the channel about this refund, until lease_until: taken under
    # the row lock before any call, long enough to outlive every channel call it covers.
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When an execution's calls to the channel about this refund last ended: a channel that
    # asks for a pause between refund calls on one trade counts from here.
    channel_called_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    needs_attention = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=RefundStatus.values), name="refund_status_valid"
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(reason__in=AUTOMATIC_REFUND_REASONS),
                name="refund_one_automatic_per_payment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["PENDING", "PROCESSING"]),
                name="refund_unfinished_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def refund_ref(self) -> RefundRef:
        """How the channel knows this refund (and its trade), for every call after the first."""
        return RefundRef(
            out_refund_no=self.out_refund_no,
            trade=self.payment.trade_ref,
            channel_refund_no=self.channel_refund_no or None,
            refs=dict(self.channel_refs),
        )


class Event(models.Model):
    """Transactional outbox and event log: written in the same transaction as the change."""

    id = models.CharField(primary_key=True, max_length=32, default=partial(new_public_id, "evt"))
    merchant = models.ForeignKey("orders.Merchant", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=32, choices=EventType)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Feed order (GET /events) is (transaction_id, sequence), both assigned by PostgreSQL. The
    # feed serves only transactions older than every one still running, so an event can never
    # commit behind a cursor a partner already holds (see payments/selectors.py).
    transaction_id = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
    sequence = models.BigIntegerField(db_default=NextEventSequence(), unique=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="event_merchant_created"),
            models.Index(
                fields=["merchant", "transaction_id", "sequence"], name="event_merchant_feed"
            ),
            models.Index(fields=["created_at", "id"], name="event_created"),  # the back office
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    endpoint_url = models.URLField(max_length=500)
    status = models.CharField(max_length=16, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Who last sent a dead delivery back into the queue (webhook_delivery_replay), and when.
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint_url"], name="webhook_unique_event_endpoint"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="PENDING"),
                name="webhook_pending_next_attempt",
            ),
        ]
        permissions = [("replay_webhook", "Can replay a dead-lettered webhook delivery")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_url} ({self.status})"


class IdempotencyKey(models.Model):
    """A partner's Idempotency-Key: the first response is replayed for the same request."""

    merchant = models.ForeignKey("orders.Merchant", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id}:{self.key}"


class Discrepancy(models.Model):
    """Something a channel said that does not match our books: for finance staff to resolve."""

    class Kind(models.TextChoices):
        MISSING_HERE = "MISSING_HERE"
        MISSING_AT_CHANNEL = "MISSING_AT_CHANNEL"
        AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
        CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
        STATUS_MISMATCH = "STATUS_MISMATCH"
        REFUND_MISMATCH = "REFUND_MISMATCH"
        FEE_TOTAL_MISMATCH = "FEE_TOTAL_MISMATCH"

    channel = models.CharField(max_length=32)
    kind = models.CharField(max_length=24, choices=Kind)
    out_trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict)
    found_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        # Found here, resolved by finance in reconciliation: the model keeps its app, so its
        # table, migrations, permission and back-office pages are those it always had.
        app_label = "reconciliation"
        ordering = ["-found_at"]
        verbose_name_plural = "discrepancies"
        permissions = [("resolve_discrepancy", "Can resolve a discrepancy")]

    def __str__(self) -> str:
        return f"{self.kind} {self.out_trade_no}"
