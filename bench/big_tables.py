"""Big tables stay fast (a benchmark, not a test: it prints figures).

Starts the real system (gunicorn web, the sandbox; no job cluster, so nothing works on the loaded
rows meanwhile) on a database of its own and, in one run, measures at two table sizes — a small
history (1,000 rows per table) and ``--rows`` (default 1,000,000) orders, payments, events and
audit rows, with their channel transactions and refunds, loaded with SQL (bench/big_rows.py):

- the hot endpoints with the closed-loop client of bench/throughput.py: POST /orders,
  GET /orders/{id}, an Idempotency-Key replay, and a page of the event feed read from near its
  head (where a partner polls); each rate at both sizes and big ÷ small (target ≥ 0.8);
- the database time of the back office's stuck list, dashboard and lists (bench/big_tables_db.py;
  target under a second each);
- the EXPLAIN (ANALYZE, BUFFERS) of the event feed's queries at the big size, and whether its page
  is read by an Index Only Scan on the feed's index.

    .venv/bin/python bench/big_tables.py [--rows 1000000] [--seconds 15] [--clients 8]

Uses the project's PostgreSQL and Redis (embedded under var/ unless DATABASE_URL / REDIS_URL are
set); its database (paycenter_bench_big) is made anew on every run.
"""

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

import requests
from django.conf import settings

from bench.big_rows import TABLES, load_rows
from bench.figures import script_figures
from bench.throughput import closed_loop, expect, order_body  # sets Django up
from tests.system import System

SMALL = 1_000
FEED_PAGE = 100
FEED_FROM_HEAD = 150  # the cursor: this many events before the newest of the demo merchant


def load(system: System, start: int, stop: int) -> None:
    started = time.monotonic()
    load_rows(system.database_url, demo_merchant=settings.DEMO_MERCHANT_ID, start=start, stop=stop)
    print(f"  loaded rows {start:,} to {stop:,} in {time.monotonic() - started:.0f} s", flush=True)
    for table in TABLES:
        (rows,) = system.one(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own names
        print(f"    {table:<30} {rows:>10,}")


def feed_cursor(system: System) -> str:
    (cursor,) = system.one(
        "SELECT id FROM payments_event WHERE merchant_id = %s "
        "ORDER BY transaction_id DESC, sequence DESC OFFSET %s LIMIT 1",
        (settings.DEMO_MERCHANT_ID, FEED_FROM_HEAD),
    )
    return cursor


def endpoints(system: System, loop: dict) -> dict:
    """Closed-loop runs of each hot endpoint, by name."""
    api = f"{system.web}/api/v1"
    auth = {"Authorization": f"Bearer {settings.DEMO_API_KEY}"}
    runs = {}
    runs["POST /orders"] = closed_loop(
        lambda s: expect(s.post(f"{api}/orders", json=order_body(), headers=auth), 201), **loop
    )
    order = expect(requests_post(f"{api}/orders", order_body(), auth), 201)
    runs["GET /orders/{id}"] = closed_loop(
        lambda s: expect(s.get(f"{api}/orders/{order['id']}", headers=auth), 200), **loop
    )
    replayed, replay_headers = order_body(), {**auth, "Idempotency-Key": uuid.uuid4().hex}
    expect(requests_post(f"{api}/orders", replayed, replay_headers), 201)
    runs["replay POST /orders"] = closed_loop(
        lambda s: expect(s.post(f"{api}/orders", json=replayed, headers=replay_headers), 201),
        **loop,
    )
    feed = f"{api}/events?after={feed_cursor(system)}&limit={FEED_PAGE}"
    runs[f"GET /events (page of {FEED_PAGE})"] = closed_loop(
        lambda s: expect(s.get(feed, headers=auth), 200), **loop
    )
    return runs


def measured(system: System, loop: dict, warmup: float) -> dict:
    """The endpoints run once briefly (connections opened, caches and pages warm), then measured."""
    endpoints(system, {**loop, "seconds": warmup})
    runs = endpoints(system, loop)
    for name, run in runs.items():
        print(f"    {name:<28} {run.summary()}", flush=True)
    return runs


def requests_post(url: str, body: dict, headers: dict) -> requests.Response:
    return requests.post(url, json=body, headers=headers, timeout=10)


def db_figures(system: System, with_feed: bool) -> dict:
    return script_figures("big_tables_db.py", system.env(), *([feed_cursor(system)] * with_feed))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_db_times(small: dict, big: dict) -> None:
    """Each page's or job's database time at both sizes, and its slowest query when slow."""
    width = max(map(len, big))
    for name, figures in big.items():
        returned = f", {figures['result']}" if "result" in figures else ""
        print(
            f"  {name:<{width}} {small[name]['db_ms']:7.1f} → {figures['db_ms']:7.1f} ms"
            f"   {figures['queries']:3} queries, slowest {figures['slowest_ms']:.1f} ms{returned}"
        )
        if figures["slowest_ms"] > 100:
            print(f"      slowest: {figures['slowest_sql']}")


def print_figures(small: dict, big: dict, small_db: dict, big_db: dict, rows: int) -> None:
    print(f"hot endpoints: {SMALL:,} rows → {rows:,} rows (requests/s, big ÷ small, target ≥ 0.8)")
    for name in small:
        ratio = big[name].per_second / small[name].per_second
        print(
            f"  {name:<28} {small[name].per_second:7.1f}/s → {big[name].per_second:7.1f}/s   "
            f"p50 {small[name].p(0.5):6.1f} → {big[name].p(0.5):6.1f} ms   ratio {ratio:.2f}"
        )
    print("back office, database time per page (median of 3; target < 1,000 ms at the big size)")
    print_db_times(small_db["pages"], big_db["pages"])
    print("periodic jobs, database time per run (median of 3, rolled back; what each returned)")
    print_db_times(small_db["jobs"], big_db["jobs"])
    print(f"event feed at {rows:,} rows, page of {FEED_PAGE} from near the head:")
    for query in big_db["feed"]:
        print(f"  {query['sql']}")
        for line in query["plan"]:
            print(f"    {line}")
    page_plan = "\n".join(big_db["feed"][-1]["plan"])
    index_only = "Index Only Scan using event_merchant_feed" in page_plan
    print(
        f"  page read by an Index Only Scan on event_merchant_feed: {'yes' if index_only else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15, help="per measurement")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3, help="per endpoint, not measured")
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    loop = {"clients": args.clients, "seconds": args.seconds}

    with tempfile.TemporaryDirectory(prefix="paycenter-bench-") as directory:
        system = System(
            Path(directory),
            database_url=settings.DATABASE_URL,
            redis_url=settings.REDIS_URL,
            settings={"API_RATE_LIMIT": "100000000/min"},
            database="paycenter_bench_big",
            web_workers=args.web_workers,
        )
        with system:
            system.stop_clusters()
            print(
                f"{args.clients} closed-loop clients, {args.seconds:g} s each "
                f"after {args.warmup:g} s of warm-up"
            )
            load(system, 1, SMALL)
            print(f"  small: load average {load_average()}")
            small = measured(system, loop, args.warmup)
            small_db = db_figures(system, with_feed=False)
            load(system, SMALL + 1, args.rows)
            print(f"  big: load average {load_average()}")
            big = measured(system, loop, args.warmup)
            big_db = db_figures(system, with_feed=True)
            print(f"  end: load average {load_average()}")
    print_figures(small, big, small_db, big_db, args.rows)


if __name__ == "__main__":
    main()
