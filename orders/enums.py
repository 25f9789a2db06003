from django.db import models


class OrderStatus(models.TextChoices):
    UNPAID = "UNPAID"
    PAYING = "PAYING"
    PAID = "PAID"
    CLOSED = "CLOSED"
    REFUNDED = "REFUNDED"


OPEN_ORDER_STATUSES = (OrderStatus.UNPAID, OrderStatus.PAYING)
PAID_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED)

# The one map of allowed order transitions. Anything else raises.
ORDER_TRANSITIONS = {
    OrderStatus.UNPAID: {OrderStatus.PAYING, OrderStatus.PAID, OrderStatus.CLOSED},
    OrderStatus.PAYING: {OrderStatus.UNPAID, OrderStatus.PAID, OrderStatus.CLOSED},
    OrderStatus.PAID: {OrderStatus.REFUNDED},
    OrderStatus.CLOSED: set(),
    OrderStatus.REFUNDED: set(),
}


class ActorKind(models.TextChoices):
    """Who or what caused a transition: shown on the admin timeline."""

    CUSTOMER = "CUSTOMER"
    PARTNER_API = "PARTNER_API"
    CHANNEL_CALLBACK = "CHANNEL_CALLBACK"
    QUERY_JOB = "QUERY_JOB"
    STATEMENT = "STATEMENT"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"
