"""`manage.py jobs_alive`: exit 0 when the job system is alive, 1 when it has stopped.

For a systemd timer or an orchestrator's exec liveness probe (docs/architecture.md, "Job system
liveness"). Prints the liveness as one JSON line.
"""

import json
import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils import timezone

from config.liveness import jobs_liveness


class Command(BaseCommand):
    help = "Exit non-zero when the job heartbeat is stale while work is due."

    def add_arguments(self, parser):
        parser.add_argument(
            "--name",
            help="one cluster's heartbeat name (JOBS_HEARTBEAT_NAME); default: any cluster's",
        )

    def handle(self, *args, name: str | None, **options):
        try:
            liveness = jobs_liveness(now=timezone.now(), name=name)
        except DatabaseError as error:
            self.stdout.write(json.dumps({"alive": False, "error": str(error)}))
            sys.exit(2)
        self.stdout.write(json.dumps(liveness.as_json()))
        if not liveness.alive:
            sys.exit(1)
