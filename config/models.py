from django.db import models


class JobHeartbeat(models.Model):
    """When a django-q2 cluster last did work.

    A cluster whose processes all exist can still do nothing (a child killed while holding the
    task queue's lock stops it for good), so liveness is measured by work done: its pumps
    advance this every tick and its monitor after every finished task. One row per cluster.
    """

    name = models.CharField(max_length=200, primary_key=True)  # JOBS_HEARTBEAT_NAME
    last_tick_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_tick_at.isoformat()}"
