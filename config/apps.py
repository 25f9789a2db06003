from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConfigConfig(AppConfig):
    """Project-level wiring: django-q2 schedules and the runsystem / seed_demo commands."""

    name = "config"
    verbose_name = "Paycenter"

    def ready(self) -> None:
        from django.apps import apps

        from config.schedules import sync_schedules

        # Sent once django_q's own tables are migrated (config itself has no models).
        post_migrate.connect(sync_schedules, sender=apps.get_app_config("django_q"))
