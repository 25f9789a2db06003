"""Job system liveness: the heartbeat, the "alive" selector, /readyz, `manage.py jobs_alive`,
and the supervisor that restarts a cluster that stopped doing work."""

import contextlib
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.liveness import heartbeat_advance, jobs_liveness
from config.supervisor import ClusterSupervisor
from orders.models import Order
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale_after(settings):
    settings.JOBS_HEARTBEAT_STALE_SECONDS = 60
    return timedelta(seconds=60)


def expired_order(merchant):
    order = make_order(merchant)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_with_nothing_due_the_job_system_is_alive_without_any_heartbeat(stale_after):
    liveness = jobs_liveness(now=timezone.now())
    assert (liveness.alive, liveness.fresh, liveness.work_due) == (True, False, False)


def test_a_stale_heartbeat_while_work_is_due_is_not_alive(merchant, stale_after):
    now = timezone.now()
    heartbeat_advance(now=now - stale_after - timedelta(seconds=1), name="a")
    expired_order(merchant)

    assert not jobs_liveness(now=now).alive
    heartbeat_advance(now=now, name="b")  # another cluster beats: the job system is alive
    assert jobs_liveness(now=now).alive
    assert not jobs_liveness(now=now, name="a").alive  # cluster a itself is not


def test_readyz_answers_200_when_alive_and_503_when_stale_with_work_due(
    client, merchant, stale_after
):
    heartbeat_advance(now=timezone.now())
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok" and ready.json()["database"] is True

    heartbeat_advance(now=timezone.now() - stale_after * 2)
    expired_order(merchant)
    stale = client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["jobs"] | {"last_tick_at": None} == {
        "alive": False,
        "heartbeat_fresh": False,
        "work_due": True,
        "last_tick_at": None,
    }
    assert client.post("/readyz").status_code == 405


def test_jobs_alive_exits_non_zero_when_stale_with_work_due(merchant, stale_after):
    heartbeat_advance(now=timezone.now())
    call_command("jobs_alive")  # exit 0: no SystemExit

    heartbeat_advance(now=timezone.now() - stale_after * 2)
    expired_order(merchant)
    with pytest.raises(SystemExit) as exit_:
        call_command("jobs_alive")
    assert exit_.value.code == 1


def sleeper() -> subprocess.Popen:
    """A stand-in cluster: a process group with a child, like qcluster and its workers."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "time.sleep(60)",
        ],
        start_new_session=True,
    )


def test_the_supervisor_restarts_a_cluster_that_is_stale_or_exited(caplog):
    answers = iter([True, False])
    started = []

    def start():
        started.append(sleeper())
        return started[-1]

    supervisor = ClusterSupervisor(start=start, alive=lambda: next(answers), stale_seconds=0)
    supervisor.start()
    try:
        assert supervisor.check() is False  # alive
        assert supervisor.check() is True  # stale while work is due: killed and started anew
        assert started[0].poll() is not None and started[1].poll() is None
        assert "heartbeat is older than 0 s while work is due" in caplog.text

        started[1].kill()
        started[1].wait()
        assert supervisor.check() is True  # exited: started anew
        assert supervisor.restarts == 2 and supervisor.process is started[2]
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_new_cluster_gets_the_stale_limit_to_beat_before_it_is_judged():
    supervisor = ClusterSupervisor(start=sleeper, alive=lambda: False, stale_seconds=600)
    process = supervisor.start()
    try:
        assert supervisor.check() is False
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
