from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConfigConfig(AppConfig):
    """Project-level wiring: django-q2 schedules and heartbeat, the runsystem / seed_demo /
    jobs_alive commands."""

    name = "config"
    verbose_name = "Paycenter"

    def ready(self) -> None:
        from django.apps import apps
        from django_q.signals import post_execute

        from config.liveness import heartbeat_on_task_done
        from config.schedules import sync_schedules

        # Sent once django_q's own tables are migrated.
        post_migrate.connect(sync_schedules, sender=apps.get_app_config("django_q"))
        # Sent by a cluster's monitor once a task's result is saved: the cluster did work.
        post_execute.connect(heartbeat_on_task_done, dispatch_uid="jobs-heartbeat")
