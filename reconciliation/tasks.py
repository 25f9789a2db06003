"""django-q2 entry points for the safety-net scans and the statement runs (Schedules)."""

from orders.audit import SAFETY_SCAN
from reconciliation import services, statements


def scan_unrefunded_extra_successes() -> int:
    return services.scan_unrefunded_extra_successes(actor=SAFETY_SCAN)


def statements_reconcile_due(channel: str) -> int:
    return len(statements.statements_reconcile_due(channel=channel))
