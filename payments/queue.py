"""Handing work to the django-q2 cluster (ORM broker: durable in PostgreSQL).

Tasks are named by dotted path so services never import the task modules that call them. A task
carries the request id of whatever caused it (`LOG_CONTEXT`, taken out again before the task
runs), so the job's log lines join the request's.
"""

import time

from django.conf import settings
from django_q.models import OrmQ
from django_q.tasks import async_task
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

from payments.outages import JobsBacklogged

LOG_CONTEXT = "log_context"
# What a job inherits from the request (or job) that enqueued it.
CARRIED = ("request_id",)


def enqueue(task_path: str, *args) -> None:
    context = {key: value for key, value in get_contextvars().items() if key in CARRIED}
    async_task(task_path, *args, group=task_path.rsplit(".", 1)[-1], **{LOG_CONTEXT: context})


def bind_task_context(sender, func, task: dict, **kwargs) -> None:
    """django-q2's pre_execute signal, in the worker: each task starts with only its own context
    (a worker runs many), the carried one taken out of its arguments before the call. A sync
    task (Q_SYNC) runs inside its caller, whose context it keeps."""
    if not task.get("sync"):
        clear_contextvars()
    carried = task["kwargs"].pop(LOG_CONTEXT, None) or {}
    bind_contextvars(task=task.get("group") or str(task["func"]), task_id=task["id"], **carried)


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
