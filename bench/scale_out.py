"""Scale-out benchmark: one and two django-q2 clusters on one PostgreSQL (a benchmark, not a
test: it prints figures).

1. Loads N due payment checks (default 5,000: open payments on the sandbox, one per order) and
   gives the sandbox 50 ms of latency on every API call; then one cluster and two clusters,
   alternately (one, two, two, one, …: --rounds of each), drain them (the pump and the drain
   tasks it starts, PAYMENT_CHECK_DRAINERS, on any cluster's workers). Prints each drain time,
   the checking tasks running in each cluster and the CPU per check of each process group
   (the clusters, PostgreSQL, the sandbox), then the ratio of the total drain times.
2. The ORM broker's raw throughput: M trivial tasks (default 2,000) queued while no cluster
   runs, then drained by one cluster, schedules off: tasks per second.

    .venv/bin/python bench/scale_out.py [--checks 5000] [--tasks 2000] [--rounds 2]

The sandbox knows none of the loaded trades, so every check is a full round trip answered
"not found" (not final before the order's deadline: nothing changes, the check is recorded and
the next one scheduled an hour later, so each payment is checked once per run). That two
clusters never check one payment twice at once is proven by tests, not here:
tests/test_order_loss_system.py::test_two_clusters_* and tests/test_check_drainers.py.

Uses the same PostgreSQL and Redis as the project (embedded under var/ unless DATABASE_URL /
REDIS_URL are set); its database is `paycenter_bench_scale`, dropped and made anew on every run.
"""

import argparse
import contextlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

import psycopg
import redis
from django.conf import settings

from tests.helpers import wait_for
from tests.system import System

WORKERS = 4
CLUSTER_SETTINGS = {
    "Q_WORKERS": str(WORKERS),
    "PAYMENT_CHECK_SCHEDULE": "3600",  # one check per payment per run
    # the same in every run: two clusters' workers, and the one in line and one in hand that a
    # busy cluster holds before it can start them (Q_QUEUE_LIMIT=1), so neither cluster starves
    "PAYMENT_CHECK_DRAINERS": str(2 * WORKERS + 2),
    "PUMP_TICK_SECONDS": "1",
    "PUMP_LIFETIME_SECONDS": "70",
}
LATENCY_MS = 50
FILL_SQL = (
    """
INSERT INTO orders_order (id, merchant_id, merchant_order_no, amount, currency, subject,
    return_url, status, refunded_amount, expires_at, created_at, updated_at)
SELECT 'ord_scale' || n, %(merchant)s, 'scale-' || n, 100, 'CNY', 'bench', '', 'PAYING', 0,
    now() + interval '1 day', now(), now()
FROM generate_series(1, %(checks)s) AS n
""",
    """
INSERT INTO payments_payment (id, order_id, channel, client, out_trade_no, amount, currency,
    status, channel_refs, superseded, check_attempts, needs_attention, created_at, updated_at)
SELECT 'pay_scale' || n, 'ord_scale' || n, 'sandbox', 'pc', 'PSCALE' || n, 100, 'CNY',
    'PAYING', '{}', false, 0, false, now(), now()
FROM generate_series(1, %(checks)s) AS n
""",
)
QUEUE_TASKS = """
from django_q.tasks import async_task
for _ in range({tasks}):
    async_task("math.floor", 1.5)
"""


def load(system: System, checks: int) -> None:
    (merchant,) = system.one("SELECT id FROM orders_merchant LIMIT 1")
    with psycopg.connect(system.database_url, autocommit=True) as connection:
        for statement in FILL_SQL:
            connection.execute(statement, {"merchant": merchant, "checks": checks})


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """CPU time of a process and its descendants, those still running and those reaped (a
    parent's cutime/cstime), read from /proc."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        if fields := stats.get(pid):
            total += sum(int(ticks) for ticks in fields[11:15])  # utime stime cutime cstime
        pending += [child for child, fields in stats.items() if int(fields[1]) == pid]
    return total / CLOCK_TICKS


@dataclass
class Drain:
    seconds: float
    cpu_ms_per_check: dict[str, float]  # process group: CPU milliseconds per check
    checking_per_cluster: list[float]  # mean drain tasks (and pump) running in each cluster


def cpu_by_group(system: System) -> dict[str, float]:
    """CPU seconds used so far by the clusters, PostgreSQL and the sandbox."""
    with psycopg.connect(system.database_url) as connection:
        (backend,) = connection.execute("SELECT pg_backend_pid()").fetchone()
        # read while the backend lives: its parent is the postmaster
        stat = (Path("/proc") / str(backend) / "stat").read_text()
    return {
        "clusters": sum(cpu_seconds(cluster.pid) for cluster in system.clusters),
        "postgresql": cpu_seconds(int(stat.rsplit(")", 1)[1].split()[1])),
        "sandbox": cpu_seconds(system.sandbox._process.pid),
    }


def drain(system: System, clusters: int, checks: int) -> Drain:
    """``clusters`` clusters check every loaded payment once: the seconds from the first check
    asked to the last (the clusters' start-up is not the drain), and the CPU each process group
    spent per check meanwhile."""
    system.rows(  # every drain alike: none flagged yet
        "UPDATE payments_payment SET next_check_at = now() - interval '1 second', "
        "check_attempts = 0, needs_attention = false RETURNING id"
    )
    redis.Redis.from_url(system.redis_url).delete("paycenter:window:check-drainers:sandbox")
    (run_started,) = system.one("SELECT now()")
    for _ in range(clusters):
        system.start_cluster()
    system.kick_pump()

    def checked() -> int:
        (count,) = system.one(
            "SELECT count(*) FROM payments_paymentcheck WHERE asked_at >= %s", (run_started,)
        )
        return count

    first = wait_for(checked, timeout=120, interval=0.05, what="the first check")
    cpu_at_first = cpu_by_group(system)
    samples = []  # checking tasks running in each cluster, about once a second
    deadline = time.monotonic() + 1800
    while (last := checked()) < checks:
        assert time.monotonic() < deadline, "the checks not done within 1800 s"
        samples.append([checking_tasks(cluster) for cluster in system.clusters])
        time.sleep(1)
    cpu = {group: used - cpu_at_first[group] for group, used in cpu_by_group(system).items()}
    system.stop_clusters()
    # from the first check asked to the last: the clusters' start-up is not the drain
    (seconds,) = system.one(
        "SELECT extract(epoch FROM max(asked_at) - min(asked_at)) FROM payments_paymentcheck "
        "WHERE asked_at >= %s",
        (run_started,),
    )
    per_check = {group: 1000 * used / (last - first) for group, used in cpu.items()}
    return Drain(
        seconds=float(seconds) + LATENCY_MS / 1000,
        cpu_ms_per_check=per_check,
        checking_per_cluster=[sum(column) / len(column) for column in zip(*samples, strict=True)],
    )


CHECKING_TASKS = ("'payments.tasks.payments_drain_due'", "'config.pump.run_pump'")


def checking_tasks(cluster: subprocess.Popen) -> int:
    """The cluster's workers now running a drain task or the pump (whose lane checks too),
    told by the title django-q2 gives a busy worker."""
    running = 0
    for pid in System.cluster_children(cluster)["busy worker"]:
        with contextlib.suppress(OSError):
            title = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
            running += any(task in title for task in CHECKING_TASKS)
    return running


def broker_throughput(system: System, tasks: int) -> float:
    """Trivial tasks per second through the ORM broker with one cluster, schedules off."""
    system.rows("DELETE FROM django_q_schedule RETURNING id")
    system.rows("DELETE FROM django_q_ormq RETURNING id")
    system._manage("shell", "-c", QUEUE_TASKS.format(tasks=tasks))
    system.start_cluster()

    def queued() -> int:
        (count,) = system.one("SELECT count(*) FROM django_q_ormq")
        return count

    wait_for(lambda: queued() < tasks, timeout=120, interval=0.05, what="the first task taken")
    started = time.monotonic()
    wait_for(lambda: queued() == 0, timeout=1800, interval=0.2, what="the queue drained")
    seconds = time.monotonic() - started
    system.stop_clusters()
    return tasks / seconds


def report(label: str, run: Drain, checks: int) -> Drain:
    cpu = ", ".join(f"{group} {ms:.1f}" for group, ms in run.cpu_ms_per_check.items())
    running = " + ".join(f"{mean:.1f}" for mean in run.checking_per_cluster)
    print(
        f"  {label} {run.seconds:.1f} s ({checks / run.seconds:.0f} checks/s), checking tasks "
        f"running per cluster {running}; CPU ms per check: {cpu}; load average {load_average()}"
    )
    return run


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="drains of each kind, alternated")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="paycenter-bench-") as directory:
        system = System(
            Path(directory),
            database_url=settings.DATABASE_URL,
            redis_url=settings.REDIS_URL,
            settings=CLUSTER_SETTINGS,
            database="paycenter_bench_scale",
            web_workers=1,
        )
        system.start(clusters=0)
        try:
            load(system, args.checks)
            system.sandbox.set_faults({"api_latency_ms": [LATENCY_MS, LATENCY_MS]})
            print(
                f"1. {args.checks:,} due payment checks, sandbox latency {LATENCY_MS} ms, "
                f"{WORKERS} workers per cluster, {CLUSTER_SETTINGS['PAYMENT_CHECK_DRAINERS']} "
                "drainers"
            )
            seconds = {1: 0.0, 2: 0.0}
            for round_ in range(args.rounds):
                # one, two, then two, one: a load that drifts (other work on the machine)
                # weighs on both alike
                for clusters in (1, 2) if round_ % 2 == 0 else (2, 1):
                    label = "one cluster: " if clusters == 1 else "two clusters:"
                    run = report(label, drain(system, clusters, args.checks), args.checks)
                    seconds[clusters] += run.seconds
            print(f"  speed-up: {seconds[1] / seconds[2]:.2f}x (drain time, one cluster / two)")
            rate = broker_throughput(system, args.tasks)
            print(
                f"2. ORM broker, one cluster of {WORKERS} workers: {rate:.0f} tasks/s; "
                f"load average {load_average()}"
            )
        finally:
            system.stop()


if __name__ == "__main__":
    main()
