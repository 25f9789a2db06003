"""Handing work to the django-q2 cluster (ORM broker: durable in PostgreSQL).

Tasks are named by dotted path so services never import the task modules that call them.
"""

import time

from django.conf import settings
from django_q.models import OrmQ
from django_q.tasks import async_task

from payments.outages import JobsBacklogged


def enqueue(task_path: str, *args) -> None:
    async_task(task_path, *args, group=task_path.rsplit(".", 1)[-1])


_seen_below_limit_at: float | None = None  # this process's last count below the limit


def jobs_backlog_check() -> None:
    """Raise JobsBacklogged when JOBS_BACKLOG_LIMIT tasks or more wait in the queue. The doors
    ask before accepting new work (an order, a payment, a refund): with the queue that far
    behind its checks, refunds and webhooks would wait unseen, so the caller is told to retry
    (503) instead. Counting stops at the limit, so the check costs the same at any backlog.

    A count below the limit holds for JOBS_BACKLOG_CHECK_SECONDS in this process (the count
    scans up to the limit's rows, and every POST asks): a backlog is refused that much later,
    and a backlogged queue is counted again at every request, so work resumes at once."""
    global _seen_below_limit_at
    now = time.monotonic()
    if (
        _seen_below_limit_at is not None
        and now - _seen_below_limit_at < settings.JOBS_BACKLOG_CHECK_SECONDS
    ):
        return
    limit = settings.JOBS_BACKLOG_LIMIT
    if OrmQ.objects.all()[:limit].count() >= limit:
        raise JobsBacklogged(f"{limit} or more tasks wait in the job queue")
    _seen_below_limit_at = now


def jobs_backlog_forget() -> None:
    """Count again at the next check (tests)."""
    global _seen_below_limit_at
    _seen_below_limit_at = None
