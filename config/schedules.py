"""django-q2 Schedules, declared once and synced after every migrate.

A Schedule runs at most once a minute (django-q2's guard loop), which is the granularity here.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from reconciliation.days import StatementUnavailable, availability

# A statement run retries days the channel was not ready for, this often (minutes).
STATEMENT_RETRY_MINUTES = 30

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
        # Retention: checks, processed callbacks, webhook attempts, admin log, idempotency keys.
        "name": "purge-expired-records",
        "func": "payments.tasks.retention_purge",
        "schedule_type": Schedule.HOURLY,
    },
]


def statement_schedules(now: datetime) -> list[dict]:
    """One statement run per channel that has a statement: from today's ``ready_at`` in the
    channel's time zone (at once when that has passed), then every STATEMENT_RETRY_MINUTES; the
    run itself takes only days whose statement is final and not yet reconciled."""
    specs = []
    for code in settings.PAYMENT_CHANNELS:
        try:
            statement = availability(code)
        except StatementUnavailable:
            continue
        local = now.astimezone(ZoneInfo(statement.time_zone))
        ready = datetime.combine(local.date(), statement.ready_at, local.tzinfo)
        specs.append(
            {
                "name": f"reconcile-statements-{code}",
                "func": "reconciliation.tasks.statements_reconcile_due",
                "args": repr(code),
                "schedule_type": Schedule.MINUTES,
                "minutes": STATEMENT_RETRY_MINUTES,
                "next_run": ready if ready > local else now,
            }
        )
    return specs


def sync_schedules(**kwargs) -> None:
    specs = SCHEDULES + statement_schedules(timezone.now())
    for spec in specs:
        Schedule.objects.update_or_create(name=spec["name"], defaults={**spec, "repeats": -1})
    Schedule.objects.exclude(name__in=[spec["name"] for spec in specs]).delete()
