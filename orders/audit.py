"""Status transitions: one checked move, and the audit row that records who caused it."""

from dataclasses import dataclass

from orders.enums import ActorKind
from orders.models import Order, StatusChange


class InvalidTransition(Exception):
    pass


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    ref: str = ""

    def __str__(self) -> str:  # how a log line names it
        return f"{self.kind}:{self.ref}" if self.ref else str(self.kind)


# Who acts when no person or partner does: every such actor is named here, once.
CUSTOMER_CHECKOUT = Actor(ActorKind.CUSTOMER, "checkout")
EXPIRY = Actor(ActorKind.SYSTEM, "expiry")
JOB = Actor(ActorKind.SYSTEM, "job")
PAYMENT_CHECKS = Actor(ActorKind.QUERY_JOB, "payment checks")
SAFETY_SCAN = Actor(ActorKind.SYSTEM, "safety-net scan")
STATEMENT_RUN = Actor(ActorKind.STATEMENT, "statement reconciliation")


def move(instance, to_status: str, *, transitions: dict, actor: Actor, note: str = "") -> None:
    """Move an order, payment or refund to ``to_status`` if the map allows it, and audit it.

    The caller holds the row lock and saves the instance (it usually changes other fields too).
    """
    transition(instance, to_status, transitions=transitions, actor=actor, note=note).save()


def transition(
    instance, to_status: str, *, transitions: dict, actor: Actor, note: str = ""
) -> StatusChange:
    """move, with its audit row returned unsaved: for a change that moves several rows at once
    and writes their audit rows in one INSERT (``StatusChange.objects.bulk_create``)."""
    from_status = instance.status
    if to_status not in transitions[from_status]:
        raise InvalidTransition(
            f"{instance._meta.model_name} {instance.pk}: {from_status}→{to_status}"
        )
    instance.status = to_status
    return status_change(instance, from_status=from_status, actor=actor, note=note)


def record_status_change(instance, *, from_status: str, actor: Actor, note: str = "") -> None:
    status_change(instance, from_status=from_status, actor=actor, note=note).save()


def status_change(instance, *, from_status: str, actor: Actor, note: str = "") -> StatusChange:
    """The audit row of the instance's move from ``from_status`` to its status now, unsaved."""
    order_id = instance.pk if isinstance(instance, Order) else _order_id_of(instance)
    return StatusChange(
        entity=instance._meta.model_name,
        entity_id=instance.pk,
        order_id=order_id,
        from_status=from_status,
        to_status=instance.status,
        actor_kind=actor.kind,
        actor_ref=actor.ref[:200],
        note=note[:500],
    )


def _order_id_of(instance) -> str:
    if hasattr(instance, "order_id"):
        return instance.order_id
    return instance.payment.order_id
