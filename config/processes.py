"""Stopping child process trees cleanly (used by runsystem and by tests that start servers)."""

import contextlib
import os
import signal
import subprocess
import time


def stop_processes(processes: dict[str, subprocess.Popen], grace: float = 10) -> list[str]:
    """SIGTERM each leader (gunicorn, qcluster and the sandbox stop their own children in
    order; signalling the whole group at once races them), then SIGKILL the process group of
    any that is still running after ``grace`` seconds. Returns the names that had to be killed.

    Each process must have been started with ``start_new_session=True``.
    """
    for process in processes.values():
        if process.poll() is None:
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
