"""Throughput of the partner API against a bare baseline, in one run (a benchmark, not a test).

Starts the real system (gunicorn web, a django-q2 cluster, the sandbox channel) and, beside it, the
bare Django + DRF app of bench/baseline/ under the same gunicorn settings on the same PostgreSQL;
drives both with the same closed-loop client (``--clients`` threads, each sending its next request
when its last one is answered) and prints:

- ``orders_ratio``: POST /api/v1/orders per second, Paycenter ÷ baseline;
- ``flow_ratio``: complete paid flows per second (create order, start a payment, the buyer pays at
  the sandbox, its callback, reads of the order until PAID) ÷ (baseline per second ÷ 4). The
  client polls the order every ``--poll`` seconds (0.1), the first read that long after the buyer
  paid: twenty times as often as the checkout page polls (CHECKOUT_POLL_SECONDS, 2), and late
  enough that most flows read once, after their callback; it prints the reads per flow;
- ``replay_ratio``: p50 of an Idempotency-Key replay ÷ p50 of GET /orders/{id};
- p50/p99 of each, and the database queries one request of each endpoint makes.

    .venv/bin/python bench/throughput.py [--seconds 20] [--rounds 4] [--clients 8] [--web-workers 2]
        [--poll 0.1]

Each measurement is taken in ``--rounds`` slices, the endpoints in turn, so a machine whose load
changes during the run (other work on the same cores) moves every figure alike instead of the
ratio; a rate is what was done over the time it took, the last answers of each slice included.

Uses the project's PostgreSQL and Redis (embedded under var/ unless DATABASE_URL / REDIS_URL are
set); its databases (paycenter_bench, paycenter_bench_baseline) are made anew on every run. The
per-merchant rate limit is lifted for the run: it measures the server, not the limit.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django_project import BASE_DIR  # first: the project, Django set up

# isort: split

import psycopg
import requests
from django.conf import settings

from bench.figures import percentile, script_figures
from tests.helpers import wait_for
from tests.system import System, database_url_named, free_port

BASELINE_DB = "paycenter_bench_baseline"
THREADS_PER_WORKER = 4  # as tests.system.System runs gunicorn


@dataclass
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: "Run") -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def summary(self) -> str:
        return (
            f"{self.per_second:8.1f}/s   p50 {self.p(0.5):7.1f} ms   p99 {self.p(0.99):7.1f} ms"
            f"   ({len(self.latencies)} done)"
        )


class TimedSession(requests.Session):
    """Every request with a timeout: a hung server fails the run instead of hanging it."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        return super().request(*args, **kwargs)


def closed_loop(step, *, clients: int, seconds: float) -> Run:
    """``clients`` threads, each doing ``step(session)`` again as soon as it returns."""
    latencies: list[float] = []
    lock = threading.Lock()
    started_at = time.monotonic()
    deadline = started_at + seconds

    def client() -> None:
        session = TimedSession()
        while time.monotonic() < deadline:
            started = time.monotonic()
            step(session)
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Run(seconds=time.monotonic() - started_at, latencies=latencies)


def order_body() -> dict:
    return {
        "merchant_order_no": f"bench-{uuid.uuid4().hex}",
        "amount": 1999,
        "currency": "CNY",
        "subject": "Tea",
    }


def expect(response: requests.Response, *statuses: int) -> dict:
    if response.status_code not in statuses:
        raise AssertionError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


class Baseline:
    """The bare app under gunicorn, with the same server settings as the project's web."""

    def __init__(self, directory: Path, admin_url: str, web_workers: int):
        self.database_url = database_url_named(admin_url, BASELINE_DB)
        self.admin_url = admin_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web_workers = web_workers
        self.log = (directory / "baseline.log").open("a")
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DJANGO_SETTINGS_MODULE": "bench.baseline.settings",
            "PYTHONPATH": str(BASE_DIR),
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Baseline":
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BASELINE_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {BASELINE_DB}")
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"],
            cwd=BASE_DIR,
            env=self.env,
            check=True,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.baseline.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
                "--threads",
                str(THREADS_PER_WORKER),
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, 60, what="baseline up")
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(15)

    def _answers(self) -> bool:
        try:
            requests.post(f"{self.url}/api/v1/orders", json={}, timeout=2)
        except requests.RequestException:
            return False
        return True


def query_counts(system: System) -> dict:
    return script_figures("query_counts.py", system.env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="per measurement")
    parser.add_argument("--rounds", type=int, default=4, help="slices of each measurement")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--poll",
        type=float,
        default=0.1,
        help="seconds between a paid flow's reads of its order, the first one after paying",
    )
    args = parser.parse_args()
    loop = {"clients": args.clients, "seconds": args.seconds / args.rounds}

    with tempfile.TemporaryDirectory(prefix="paycenter-bench-") as directory:
        system = System(
            Path(directory),
            database_url=settings.DATABASE_URL,
            redis_url=settings.REDIS_URL,
            settings={"API_RATE_LIMIT": "100000000/min", "Q_WORKERS": "4"},
            database="paycenter_bench",
            web_workers=args.web_workers,
        )
        with system, Baseline(Path(directory), settings.DATABASE_URL, args.web_workers) as base:
            api = f"{system.web}/api/v1"
            auth = {"Authorization": f"Bearer {settings.DEMO_API_KEY}"}
            print(
                f"{args.clients} closed-loop clients, {args.seconds:g} s each in {args.rounds} "
                f"rounds; gunicorn {args.web_workers} workers x {THREADS_PER_WORKER} threads "
                "for both"
            )
            order = expect(
                requests.post(f"{api}/orders", json=order_body(), headers=auth, timeout=10), 201
            )
            replayed_body = order_body()
            replay_headers = {**auth, "Idempotency-Key": "bench-replay"}
            expect(
                requests.post(
                    f"{api}/orders", json=replayed_body, headers=replay_headers, timeout=10
                ),
                201,
            )

            reads: list[str] = []  # list.append is atomic: the clients' threads share it

            def paid_flow(session: TimedSession) -> None:
                created = expect(
                    session.post(f"{api}/orders", json=order_body(), headers=auth), 201
                )
                payment = expect(
                    session.post(
                        f"{api}/orders/{created['id']}/payments",
                        json={"channel": "sandbox"},
                        headers=auth,
                    ),
                    200,
                )
                expect(
                    session.post(
                        f"{system.sandbox.url}/v1/trades/{payment['out_trade_no']}/pay", json={}
                    ),
                    200,
                )
                while True:  # the buyer has paid: poll the order as a client would
                    time.sleep(args.poll)
                    reads.append(created["id"])
                    read = expect(session.get(f"{api}/orders/{created['id']}", headers=auth), 200)
                    if read["status"] == "PAID":
                        break

            steps = {
                "baseline POST /orders": lambda s: expect(
                    s.post(f"{base.url}/api/v1/orders", json=order_body()), 201
                ),
                "POST /orders": lambda s: expect(
                    s.post(f"{api}/orders", json=order_body(), headers=auth), 201
                ),
                "GET /orders/{id}": lambda s: expect(
                    s.get(f"{api}/orders/{order['id']}", headers=auth), 200
                ),
                "replay POST /orders": lambda s: expect(
                    s.post(f"{api}/orders", json=replayed_body, headers=replay_headers), 201
                ),
                "complete paid flow": paid_flow,
            }
            runs = {name: Run() for name in steps}
            for _ in range(args.rounds):
                for name, step in steps.items():
                    runs[name].add(closed_loop(step, **loop))
            for name, run in runs.items():
                print(f"  {name:<24}{run.summary()}")
            baseline, orders, read, replay, flows = runs.values()
            counts = query_counts(system)

    print("figures")
    print(f"  orders_ratio  {orders.per_second / baseline.per_second:.2f}   (target ≥ 0.6)")
    print(f"  flow_ratio    {flows.per_second / (baseline.per_second / 4):.2f}   (target ≥ 0.3)")
    print(f"  replay_ratio  {replay.p(0.5) / read.p(0.5):.2f}   (target ≤ 1.1)")
    print("database queries per request")
    for endpoint, count in counts.items():
        print(f"  {endpoint:<28} {count}")
    print(f"  median flow {statistics.median(flows.latencies) * 1000:.0f} ms")
    print(f"  order reads per flow {len(reads) / len(flows.latencies):.2f} (every {args.poll:g} s)")


if __name__ == "__main__":
    main()
