from django.db import models


class PaymentStatus(models.TextChoices):
    UNPAID = "UNPAID"  # attempt row committed, channel trade not (yet) confirmed created
    PAYING = "PAYING"  # trade exists at the channel: the customer can pay
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CLOSED = "CLOSED"


OPEN_PAYMENT_STATUSES = (PaymentStatus.UNPAID, PaymentStatus.PAYING)

# Forward only. A success may still land on a CLOSED or FAILED attempt (the close crossed the
# payment at the channel): money taken is a fact, so SUCCEEDED wins and the refund rules apply.
PAYMENT_TRANSITIONS = {
    PaymentStatus.UNPAID: {
        PaymentStatus.PAYING,
        PaymentStatus.SUCCEEDED,
        PaymentStatus.FAILED,
        PaymentStatus.CLOSED,
    },
    PaymentStatus.PAYING: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CLOSED},
    PaymentStatus.CLOSED: {PaymentStatus.SUCCEEDED},
    PaymentStatus.FAILED: {PaymentStatus.SUCCEEDED},
    PaymentStatus.SUCCEEDED: set(),
}


class PaymentClient(models.TextChoices):
    PC = "pc", "PC"  # QR code shown inline
    MOBILE = "mobile", "Mobile"  # redirect to the channel's pay URL


class TransactionSource(models.TextChoices):
    CALLBACK = "callback"
    QUERY = "query"
    STATEMENT = "statement"


class RefundReason(models.TextChoices):
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
    ORDER_CLOSED = "ORDER_CLOSED"
    MERCHANT_REQUEST = "MERCHANT_REQUEST"
    MANUAL = "MANUAL"
    # The channel took another amount or currency than the payment asked for: it all goes back.
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"


AUTOMATIC_REFUND_REASONS = (
    RefundReason.DUPLICATE_PAYMENT,
    RefundReason.ORDER_CLOSED,
    RefundReason.AMOUNT_MISMATCH,
)


class RefundStatus(models.TextChoices):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


REFUND_TRANSITIONS = {
    RefundStatus.PENDING: {RefundStatus.PROCESSING, RefundStatus.FAILED},
    RefundStatus.PROCESSING: {RefundStatus.SUCCEEDED, RefundStatus.FAILED},
    RefundStatus.SUCCEEDED: set(),
    RefundStatus.FAILED: set(),
}


class NotificationOutcome(models.TextChoices):
    RECEIVED = "RECEIVED"  # stored, not processed yet (a crash here is picked up again)
    APPLIED = "APPLIED"  # verified and changed state
    UNCHANGED = "UNCHANGED"  # verified, already known (a repeat): nothing to change
    REJECTED = "REJECTED"  # bad signature, stale, replayed, malformed, unknown trade, mismatch
    DEAD = "DEAD"  # processing failed on every try: given up until someone replays it


class EventType(models.TextChoices):
    ORDER_PAID = "order.paid"
    ORDER_CLOSED = "order.closed"
    ORDER_REFUNDED = "order.refunded"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"
