"""Handing work to the django-q2 cluster (ORM broker: durable in PostgreSQL).

Tasks are named by dotted path so services never import the task modules that call them.
"""

from django.conf import settings
from django_q.models import OrmQ
from django_q.tasks import async_task

from payments.outages import JobsBacklogged


def enqueue(task_path: str, *args) -> None:
    async_task(task_path, *args, group=task_path.rsplit(".", 1)[-1])


def jobs_backlog_check() -> None:
    """Raise JobsBacklogged when JOBS_BACKLOG_LIMIT tasks or more wait in the queue. The doors
    ask before accepting new work (an order, a payment, a refund): with the queue that far
    behind its checks, refunds and webhooks would wait unseen, so the caller is told to retry
    (503) instead. Counting stops at the limit, so the check costs the same at any backlog."""
    limit = settings.JOBS_BACKLOG_LIMIT
    if OrmQ.objects.all()[:limit].count() >= limit:
        raise JobsBacklogged(f"{limit} or more tasks wait in the job queue")
