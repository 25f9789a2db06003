"""Handing work to the django-q2 cluster (ORM broker: durable in PostgreSQL).

Tasks are named by dotted path so services never import the task modules that call them.
"""

from django_q.tasks import async_task


def enqueue(task_path: str, *args) -> None:
    async_task(task_path, *args, group=task_path.rsplit(".", 1)[-1])
