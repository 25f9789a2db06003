"""Database connections are kept by default, except under ASGI, where they would leak."""

import os
import subprocess
import sys

from config.settings import BASE_DIR

PRINT_SETTINGS = (
    "from django.conf import settings; d = settings.DATABASES['default']; "
    "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
)


def settings_of_a_process(entry_point: str, **env: str) -> list[str]:
    """CONN_MAX_AGE and CONN_HEALTH_CHECKS as a fresh process started by ``entry_point`` sees."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DB_CONN")} | env
    return subprocess.run(
        [sys.executable, "-c", f"{entry_point}; {PRINT_SETTINGS}"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_a_wsgi_process_keeps_its_connection_and_checks_it_before_reuse():
    assert settings_of_a_process("import config.wsgi") == ["60", "True"]


def test_an_asgi_process_never_keeps_one_even_when_told_to():
    # every ASGI request runs in a thread of its own: a kept connection is never used again
    assert settings_of_a_process("import config.asgi", DB_CONN_MAX_AGE="60") == ["0", "True"]
