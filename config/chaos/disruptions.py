"""What `--kill-workers` and `--stop-redis` do to the deployment on this host.

Workers: django-q2's own cluster statistics (what `manage.py qinfo` shows), kept in this
deployment's cache under its key prefix and signed with its SECRET_KEY, name every cluster's
worker pids and host, so only this deployment's workers on this host are found (never another
deployment's on the same machine). A pid is killed only while its process title is still
django-q2's ("qcluster …"), so a recycled pid is never hit. The statistics live in Redis: kill
workers before stopping it.

Redis: only the embedded one under ``var/`` (config/embedded.py), and only when REDIS_URL is
that one; a Redis of its own (a REDIS_URL elsewhere) is not this command's to stop.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import time
from pathlib import Path

from django.conf import settings
from django_q.status import Stat

from config import embedded

FIND_WORKER_SECONDS = 5


class CannotStopRedis(Exception):
    pass


def q2_workers() -> list[int]:
    """The pids of this deployment's django-q2 workers running on this host."""
    host = socket.gethostname()
    pids = [pid for stat in Stat.get_all() if stat.host == host for pid in stat.workers]
    return [pid for pid in pids if _is_q2_process(pid)]


def kill_a_worker(rng: random.Random) -> int | None:
    """SIGKILL one worker picked at random: its pid, or None when none was found within
    FIND_WORKER_SECONDS (a cluster being restarted publishes its workers again in a moment)."""
    deadline = time.monotonic() + FIND_WORKER_SECONDS
    while not (workers := q2_workers()):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)
    pid = rng.choice(workers)
    with contextlib.suppress(ProcessLookupError):  # it died by itself meanwhile
        os.kill(pid, signal.SIGKILL)
    return pid


def _is_q2_process(pid: int) -> bool:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return title.startswith(b"qcluster")


def check_redis_can_stop() -> None:
    """Raises CannotStopRedis, saying why, unless REDIS_URL is the embedded Redis of var/."""
    embedded_url = embedded.embedded_redis_url(settings.VAR_DIR)
    if embedded_url != settings.REDIS_URL:
        raise CannotStopRedis(
            "--stop-redis stops only the embedded Redis under var/ (REDIS_URL unset); this "
            "deployment's REDIS_URL is another server, which this command will not stop: "
            "stop it yourself (e.g. `redis-cli shutdown nosave`) while the run is going"
        )


def stop_redis() -> None:
    embedded.stop_redis(settings.VAR_DIR, signal.SIGKILL)


def start_redis() -> None:
    embedded.redis_url(settings.VAR_DIR)
