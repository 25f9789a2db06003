"""Second-level timing on top of django-q2, with every job in a lane of its own.

django-q2's scheduler wakes about every 30 s and runs a Schedule at most once a minute, and
async_task has no delay. So a one-minute Schedule starts `run_pump`, which lives a little longer
than a minute. Each job in settings.PUMP_JOBS, and each job in PUMP_CHANNEL_JOBS once per payment
channel, runs in a lane: a thread that calls it every PUMP_TICK_SECONDS. Lanes never wait for one
another, so a job stuck on a hanging channel delays only itself. Every job
claims its rows with SELECT … FOR UPDATE SKIP LOCKED under a lease, so overlapping pumps (and
several clusters) share the work and never do it twice.

A lane of its own advances the cluster's heartbeat every tick (config/liveness.py).

A cluster being stopped (SIGINT to its process group, as Ctrl-C does) ends the pump after the
current tick, so shutdown does not wait out the pump's life.
"""

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string

from config.liveness import heartbeat_advance

logger = logging.getLogger(__name__)


def run_pump(lifetime: float | None = None, tick: float | None = None) -> int:
    """Run every lane until ``lifetime`` seconds have passed or the worker is interrupted;
    returns how many lanes ran."""
    lifetime = settings.PUMP_LIFETIME_SECONDS if lifetime is None else lifetime
    tick = settings.PUMP_TICK_SECONDS if tick is None else tick
    deadline = time.monotonic() + lifetime
    with _stop_on_interrupt() as stopping:
        lanes = [
            threading.Thread(
                target=_run_lane,
                args=(name, job, tick, deadline, stopping),
                name=f"pump {name}",
                daemon=True,  # a lane hung past the pump's end must not block the worker's exit
            )
            for name, job in [("heartbeat", _beat), *pump_lanes()]
        ]
        for lane in lanes:
            lane.start()
        stopping.wait(lifetime)
        stopping.set()
        # A lane inside a channel call finishes it (bounded by the HTTP timeout); one hung
        # longer is left behind: its claim is a lease, so nothing is lost or done twice.
        join_until = time.monotonic() + tick + settings.PUMP_LANE_GRACE_SECONDS
        for lane in lanes:
            lane.join(max(0.0, join_until - time.monotonic()))
    return len(lanes)


def pump_lanes() -> list[tuple[str, Callable[[], object]]]:
    lanes = [(path, import_string(path)) for path in settings.PUMP_JOBS]
    for path in settings.PUMP_CHANNEL_JOBS:
        job = import_string(path)
        lanes += [
            (f"{path}[{code}]", partial(job, channel=code)) for code in settings.PAYMENT_CHANNELS
        ]
    return lanes


def _run_lane(name, job, tick, deadline, stopping) -> None:
    try:
        while time.monotonic() < deadline and not stopping.is_set():
            started = time.monotonic()
            close_old_connections()  # reconnect after a database restart instead of dying
            try:
                job()
            except Exception:
                # A failing run (or a database blip) must not end the lane or the pump.
                logger.exception("pump job failed: %s", name)
            stopping.wait(max(0.0, tick - (time.monotonic() - started)))
    finally:
        connection.close()  # each lane thread has its own connection


def _beat() -> None:
    heartbeat_advance(now=timezone.now())


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
