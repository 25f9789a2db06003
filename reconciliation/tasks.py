"""django-q2 entry points for the safety-net scans (Schedules, every few minutes)."""

from orders.audit import SAFETY_SCAN
from reconciliation import services


def scan_unrefunded_extra_successes() -> int:
    return services.scan_unrefunded_extra_successes(actor=SAFETY_SCAN)
