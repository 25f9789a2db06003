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
