"""django-q2 Schedules, declared once and synced after every migrate.

A Schedule runs at most once a minute (django-q2's guard loop), which is the granularity here.
"""

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "execute-due-refunds",
        "func": "payments.tasks.execute_due_refunds",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
]


def sync_schedules(**kwargs) -> None:
    for spec in SCHEDULES:
        Schedule.objects.update_or_create(name=spec["name"], defaults={**spec, "repeats": -1})
