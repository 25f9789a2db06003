"""Order-loss recovery benchmark (a benchmark, not a test: it prints figures).

1. Runs the real system — gunicorn web, a django-q2 cluster, the sandbox channel — on a database
   of its own, drops 100 % of the sandbox's notifications, lets customers buy and pay N orders
   (default 500), and prints the time from each payment to its order turning PAID through the
   payment checks alone (p50 / p99 / max), next to the configured schedule.
2. Fills the payment table with finished payments and prints the per-tick database time of the
   checks' claim at 10,000 rows and at 1,000,000 rows, and their ratio (cost should follow due
   work, not table size: a ratio close to 1).

    .venv/bin/python bench/recovery.py [--orders 500] [--rows 1000000]

Uses the same PostgreSQL and Redis as the project (embedded under var/ unless DATABASE_URL /
REDIS_URL are set); its database is `paycenter_bench`, dropped and made anew on every run.
"""

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

import psycopg
from django.conf import settings

from bench.figures import percentile, script_figures
from tests.helpers import wait_for
from tests.system import System

# The project's defaults, except that the pump is started right away (see System.kick_pump).
SCHEDULE = {
    "PAYMENT_TIMEOUT_SECONDS": "30",
    "PAYMENT_CHECK_SCHEDULE": "10,20,30",
    "PUMP_TICK_SECONDS": "1",
    "PUMP_LIFETIME_SECONDS": "70",
}
FILL_SQL = """
INSERT INTO payments_payment (id, order_id, channel, client, out_trade_no, amount, currency,
    status, superseded, check_attempts, needs_attention, created_at, updated_at, paid_at)
SELECT 'pay_bench' || n, %(order_id)s, 'sandbox', 'pc', 'PBENCH' || n, 100, 'CNY',
    'SUCCEEDED', false, 1, false, now(), now(), now()
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS n
"""


def recovery(system: System, orders: int, buyers: int) -> list[float]:
    system.sandbox.set_faults({"notify_drop": 1})
    system.kick_pump()

    def buy_and_pay(_):
        order_id, out_trade_no = system.buy()
        assert system.sandbox.pay(out_trade_no).status_code == 200
        return order_id

    started = time.monotonic()
    with ThreadPoolExecutor(buyers) as pool:
        order_ids = list(pool.map(buy_and_pay, range(orders)))
    print(f"  {orders} orders bought and paid in {time.monotonic() - started:.1f} s")

    def unpaid() -> int:
        (count,) = system.one(
            "SELECT count(*) FROM orders_order WHERE id = ANY(%s) AND status <> 'PAID'",
            (order_ids,),
        )
        return count

    wait_for(lambda: unpaid() == 0, timeout=600, interval=1, what="every order PAID")
    rows = system.rows(
        """
        SELECT extract(epoch FROM change.created_at - payment.paid_at)
        FROM orders_order o
        JOIN payments_payment payment ON payment.id = o.paid_payment_id
        JOIN orders_statuschange change
          ON change.entity = 'order' AND change.entity_id = o.id AND change.to_status = 'PAID'
        WHERE o.id = ANY(%s)
        """,
        (order_ids,),
    )
    (callbacks,) = system.one("SELECT count(*) FROM payments_channelnotification")
    assert callbacks == 0, "notifications were meant to be dropped"
    return [float(seconds) for (seconds,) in rows]


def tick_cost(system: System) -> dict:
    return script_figures("tick_cost.py", system.env())


def fill_to(system: System, order_id: str, rows: int, have: int) -> None:
    with psycopg.connect(system.database_url, autocommit=True) as connection:
        step = 200_000
        for start in range(have + 1, rows + 1, step):
            connection.execute(
                FILL_SQL,
                {"order_id": order_id, "start": start, "stop": min(rows, start + step - 1)},
            )
        connection.execute("ANALYZE payments_payment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--buyers", type=int, default=8, help="concurrent customers")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="paycenter-bench-") as directory:
        system = System(
            Path(directory),
            database_url=settings.DATABASE_URL,
            redis_url=settings.REDIS_URL,
            settings={**SCHEDULE, "Q_WORKERS": "4"},
            database="paycenter_bench",
            web_workers=4,
        )
        with system:
            print("1. Recovery with 100 % of notifications dropped")
            print(
                f"  schedule: first check {SCHEDULE['PAYMENT_TIMEOUT_SECONDS']} s after the "
                f"attempt starts, then every {SCHEDULE['PAYMENT_CHECK_SCHEDULE']} s; "
                f"pump tick {SCHEDULE['PUMP_TICK_SECONDS']} s"
            )
            seconds = recovery(system, args.orders, args.buyers)
            print(
                f"  payment → order PAID over {len(seconds)} orders: "
                f"p50 {statistics.median(seconds):.1f} s, "
                f"p99 {percentile(seconds, 0.99):.1f} s, max {max(seconds):.1f} s"
            )

            print("2. Per-tick claim cost against table size (10 due payments each time)")
            system.stop_clusters()  # nobody else may claim the due payments meanwhile
            (order_id,) = system.one("SELECT id FROM orders_order LIMIT 1")
            for _ in range(10):
                system.buy()  # open payments: the due work, the same at both sizes
            system.rows(
                "UPDATE payments_payment SET next_check_at = now() - interval '1 second' "
                "WHERE status IN ('UNPAID', 'PAYING') RETURNING id"
            )
            (have,) = system.one("SELECT count(*) FROM payments_payment")
            figures = {}
            for rows in (10_000, args.rows):
                fill_to(system, order_id, rows, have)
                have = rows
                figures[rows] = tick_cost(system)
                print(
                    f"  {figures[rows]['rows']:>9,} rows: median "
                    f"{figures[rows]['median_ms']:.3f} ms, p90 {figures[rows]['p90_ms']:.3f} ms "
                    f"({figures[rows]['claimed_per_tick']} claimed per tick)"
                )
            ratio = figures[args.rows]["median_ms"] / figures[10_000]["median_ms"]
            print(f"  ratio {args.rows:,} / 10,000 rows: {ratio:.2f}")


if __name__ == "__main__":
    main()
