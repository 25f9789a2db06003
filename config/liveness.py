"""Is the job system alive? Measured by work done, not by processes existing.

A cluster advances its heartbeat (config.models.JobHeartbeat) whenever it does work: the pump
every tick, the monitor after every finished task. The job system is alive when a heartbeat is
fresh, or when nothing is due (an idle cluster has nothing to prove). `make run` restarts a
cluster that fails this (config/supervisor.py); `/readyz` and `manage.py jobs_alive` expose it
to production supervisors (docs/architecture.md, "Job system liveness").
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max, Q
from django.utils import timezone
from django_q.models import OrmQ

from config.models import JobHeartbeat
from orders.enums import OPEN_ORDER_STATUSES
from orders.models import Order
from payments.enums import DeliveryStatus, NotificationOutcome, RefundStatus
from payments.models import ChannelNotification, Payment, Refund, WebhookDelivery

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Liveness:
    last_tick_at: datetime | None
    fresh: bool
    work_due: bool

    @property
    def alive(self) -> bool:
        return self.fresh or not self.work_due

    def as_json(self) -> dict:
        return {
            "alive": self.alive,
            "heartbeat_fresh": self.fresh,
            "work_due": self.work_due,
            "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
        }


def heartbeat_advance(*, now: datetime, name: str | None = None) -> None:
    """One upsert (INSERT … ON CONFLICT DO UPDATE): concurrent beats never conflict."""
    JobHeartbeat.objects.bulk_create(
        [JobHeartbeat(name=name or settings.JOBS_HEARTBEAT_NAME, last_tick_at=now)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["last_tick_at"],
    )


def heartbeat_on_task_done(sender, task, **kwargs) -> None:
    try:
        heartbeat_advance(now=timezone.now())
    except DatabaseError:
        # Runs in the cluster's monitor: a database blip must not kill it (the next beat repairs).
        logger.warning("jobs heartbeat not advanced", exc_info=True)


def jobs_liveness(*, now: datetime, name: str | None = None) -> Liveness:
    """The cluster ``name``'s liveness; with no name, the job system's (any cluster's beat)."""
    beats = JobHeartbeat.objects.all() if name is None else JobHeartbeat.objects.filter(name=name)
    last_tick_at = beats.aggregate(last=Max("last_tick_at"))["last"]
    stale_before = now - timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS)
    fresh = last_tick_at is not None and last_tick_at > stale_before
    return Liveness(last_tick_at, fresh, jobs_work_due(now=now))


def jobs_work_due(*, now: datetime) -> bool:
    """Anything a pump job or a queued task should be doing now (each an indexed lookup)."""
    stale_callbacks = now - timedelta(seconds=settings.NOTIFICATION_REPROCESS_AFTER_SECONDS)
    due = (
        Payment.objects.filter(next_check_at__lte=now),
        Refund.objects.filter(
            status__in=(RefundStatus.PENDING, RefundStatus.PROCESSING), next_attempt_at__lte=now
        ),
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now),
        Order.objects.filter(status__in=OPEN_ORDER_STATUSES, expires_at__lte=now),
        ChannelNotification.objects.filter(
            outcome=NotificationOutcome.RECEIVED, received_at__lte=stale_callbacks
        ),
        OrmQ.objects.filter(Q(lock__isnull=True) | Q(lock__lte=now)),
    )
    return any(rows.exists() for rows in due)
