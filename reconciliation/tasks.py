"""django-q2 entry points for the safety-net scans (Schedules, every few minutes)."""

from orders.audit import Actor
from orders.enums import ActorKind
from reconciliation.services import scan_unrefunded_extra_successes

SCAN = Actor(ActorKind.SYSTEM, "safety-net scan")


def refund_unrefunded_extra_successes() -> int:
    return scan_unrefunded_extra_successes(actor=SCAN)
