"""Stopping child process trees cleanly (used by runsystem and by tests that start servers)."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable


def stop_processes(
    processes: dict[str, subprocess.Popen], grace: float = 10, *, interrupt: Iterable[str] = ()
) -> list[str]:
    """Ask each process to stop, then SIGKILL the process group of any still running after
    ``grace`` seconds. Returns the names that had to be killed.

    Most get SIGTERM on their leader (gunicorn and the sandbox stop their own children in
    order). Those named in ``interrupt`` get SIGINT on their whole group, as a terminal's Ctrl-C
    would: that is how a django-q2 cluster stops cleanly (its workers ignore SIGINT, and a
    running pump takes it as "finish this tick and return").
    Each process must have been started with ``start_new_session=True``.
    """
    interrupt = set(interrupt)
    for name, process in processes.items():
        if process.poll() is not None:
            continue
        if name in interrupt:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.terminate()
    deadline = time.monotonic() + grace
    killed = []
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            killed.append(name)
        # whatever the leader left behind in its group goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return killed
