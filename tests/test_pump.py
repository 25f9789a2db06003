import os
import signal
import threading
import time

import pytest

from config.pump import run_pump

pytestmark = pytest.mark.django_db


def test_the_pump_ticks_every_job_and_survives_a_failing_one(settings, caplog):
    calls = []
    settings.PUMP_JOBS = ["tests.test_pump.failing_job", "tests.test_pump.counting_job"]
    counting_job.calls = calls

    ticks = run_pump(lifetime=0.35, tick=0.1)

    assert ticks >= 3
    assert len(calls) == ticks  # the failing job before it never stopped it
    assert caplog.text.count("pump job failed: tests.test_pump.failing_job") == ticks


def failing_job():
    raise RuntimeError("boom")


def counting_job():
    counting_job.calls.append(1)


def test_an_interrupt_ends_the_pump_after_the_current_tick(settings):
    settings.PUMP_JOBS = ["tests.test_pump.counting_job"]
    counting_job.calls = []
    timer = threading.Timer(0.25, lambda: os.kill(os.getpid(), signal.SIGINT))
    before = signal.getsignal(signal.SIGINT)
    timer.start()
    started = time.monotonic()

    ticks = run_pump(lifetime=30, tick=0.1)

    assert time.monotonic() - started < 2
    assert ticks >= 1
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back
