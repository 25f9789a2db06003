"""Keeps a django-q2 cluster doing work.

django-q2 restarts a killed child, but a child killed while it holds the cluster's internal task
queue lock (django-q2 issue 23, Koed00/django-q 394) leaves that lock held for good: every
process is alive and nothing runs. So the cluster is judged by its heartbeat
(config/liveness.py), and one that exited, or whose heartbeat is stale while work is due, is
killed with its whole process group and started anew. Nothing is lost: the ORM broker redelivers
an unacknowledged task after Q_RETRY, every claim is a lease, and a new pump is kicked at once.

Used by `make run` (runsystem) and, with the same code, by the real-process kill test.
"""

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class ClusterSupervisor:
    """``start`` launches the cluster (in a session of its own) and queues a pump; ``alive``
    answers whether its heartbeat is fresh or nothing is due."""

    def __init__(
        self,
        *,
        start: Callable[[], subprocess.Popen],
        alive: Callable[[], bool],
        stale_seconds: float,
    ):
        self._start = start
        self._alive = alive
        self.stale_seconds = stale_seconds
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._started_at = 0.0

    def start(self) -> subprocess.Popen:
        self.process = self._start()
        self._started_at = time.monotonic()
        return self.process

    def check(self) -> bool:
        """Restart the cluster when it needs it; True when it was restarted."""
        if self.process.poll() is not None:
            reason = f"it exited with {self.process.returncode}"
        elif time.monotonic() - self._started_at < self.stale_seconds:
            return False  # a new cluster has not had the time to beat yet
        elif self._alive():
            return False
        else:
            reason = f"its heartbeat is older than {self.stale_seconds:g} s while work is due"
        logger.warning("restarting the job cluster (pid %s): %s", self.process.pid, reason)
        with contextlib.suppress(ProcessLookupError):
            # Its process group, all at once: a locked cluster cannot be stopped politely.
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.restarts += 1
        self.start()
        return True
