"""The system-test harness itself: a system that fails to start leaves nothing running."""

import subprocess

import pytest
import requests
from django.conf import settings

from tests.system import System


def test_a_system_that_fails_to_start_stops_what_it_had_started(tmp_path):
    # the channel servers start before the migration, which fails here
    system = System(
        tmp_path,
        database_url=settings.DATABASE_URL,
        redis_url=settings.REDIS_URL,
        settings={"DJANGO_SETTINGS_MODULE": "no_such_settings"},
        database="paycenter_harness",
    )

    with pytest.raises(subprocess.CalledProcessError), system:
        pass

    for server in system.channel_servers:
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url, timeout=5)
