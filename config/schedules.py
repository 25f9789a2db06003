"""django-q2 Schedules, declared once and synced after every migrate.

A Schedule runs at most once a minute (django-q2's guard loop), which is the granularity here.
"""

from django.conf import settings
from django_q.models import Schedule

SCHEDULES = [
    {
        # Starts a pump (config/pump.py) every minute: the jobs in PUMP_JOBS run every second.
        "name": "pump",
        "func": "config.pump.run_pump",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # Safety net: extra successes (duplicates, closed orders) that somehow have no refund.
        "name": "scan-unrefunded-extra-successes",
        "func": "reconciliation.tasks.scan_unrefunded_extra_successes",
        "schedule_type": Schedule.MINUTES,
        "minutes": settings.SAFETY_SCAN_MINUTES,
    },
    {
        "name": "purge-idempotency-keys",
        "func": "payments.tasks.idempotency_keys_purge",
        "schedule_type": Schedule.HOURLY,
    },
]


def sync_schedules(**kwargs) -> None:
    for spec in SCHEDULES:
        Schedule.objects.update_or_create(name=spec["name"], defaults={**spec, "repeats": -1})
    Schedule.objects.exclude(name__in=[spec["name"] for spec in SCHEDULES]).delete()
