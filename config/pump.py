"""Second-level timing on top of django-q2.

django-q2's scheduler wakes about every 30 s and runs a Schedule at most once a minute, and
async_task has no delay. So a one-minute Schedule starts `run_pump`, which ticks every
PUMP_TICK_SECONDS for a little longer than a minute and calls each due-work job in
settings.PUMP_JOBS. Pumps overlap by a few seconds; every job claims its rows with
SELECT … FOR UPDATE SKIP LOCKED, so two pumps never do the same work twice.

A cluster being stopped (SIGINT to its process group, as Ctrl-C does) ends the pump after the
current tick, so shutdown does not wait out the pump's life.
"""

import contextlib
import logging
import signal
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def run_pump(lifetime: float | None = None, tick: float | None = None) -> int:
    """Tick until ``lifetime`` seconds have passed or the worker is interrupted; returns how
    many ticks ran."""
    lifetime = settings.PUMP_LIFETIME_SECONDS if lifetime is None else lifetime
    tick = settings.PUMP_TICK_SECONDS if tick is None else tick
    jobs = [(path, import_string(path)) for path in settings.PUMP_JOBS]
    deadline = time.monotonic() + lifetime
    ticks = 0
    with _stop_on_interrupt() as stopping:
        while time.monotonic() < deadline and not stopping.is_set():
            started = time.monotonic()
            _run_jobs(jobs)
            ticks += 1
            stopping.wait(max(0.0, tick - (time.monotonic() - started)))
    return ticks


def _run_jobs(jobs) -> None:
    close_old_connections()  # reconnect after a database restart instead of dying
    for path, job in jobs:
        try:
            job()
        except Exception:
            # One failing job (or a database blip) must not stop the others or the pump.
            logger.exception("pump job failed: %s", path)


@contextlib.contextmanager
def _stop_on_interrupt():
    stopping = threading.Event()
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    except ValueError:  # not the main thread (e.g. called from a test's thread): no handler
        yield stopping
        return
    try:
        yield stopping
    finally:
        signal.signal(signal.SIGINT, previous)
