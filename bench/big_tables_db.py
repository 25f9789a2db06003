"""Database time of the back office's pages and of the periodic jobs, and the plan of the event
feed's query, as JSON (run by bench/big_tables.py in the environment of the system under test).

Each page is rendered by Django's test client as a logged-in superuser; every query it runs is
timed at the driver (execute_wrapper: the round trip included) and the times are summed. The
median of three renders after a warm one is reported, with the query count and the slowest query;
the same for runs of each periodic job, each rolled back. The feed's queries are captured as the
partner API runs them and each is run again under EXPLAIN (ANALYZE, BUFFERS).

    python bench/big_tables_db.py <cursor event id>
"""

import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders.models import Merchant
from payments import tasks as payment_tasks
from payments.selectors import merchant_events_after
from reconciliation import tasks as reconciliation_tasks

PAGES = {
    "dashboard (admin index)": "/admin/",
    "stuck payments list": "/admin/reconciliation/stuckpayment/",
    "stuck list ?risk=payments_unknown": (
        "/admin/reconciliation/stuckpayment/?risk=payments_unknown"
    ),
    "stuck list CSV export": "/admin/reconciliation/stuckpayment/export.csv",
    "orders list": "/admin/orders/order/",
    "payments list": "/admin/payments/payment/",
    "events list": "/admin/payments/event/",
    "refunds list": "/admin/payments/refund/",
    "transactions ?risk=extra_successes": (
        "/admin/payments/channeltransaction/?risk=extra_successes"
    ),
}
RENDERS = 3
FEED_PAGE = 100


@contextmanager
def timed_queries():
    """Yields a list that fills with (seconds, sql) of every query run meanwhile."""
    timings: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(timed):
        yield timings


def page_figures(client: Client, url: str) -> dict:
    def render():
        response = client.get(url)
        if response.streaming:  # a CSV export runs its queries as it streams
            b"".join(response.streaming_content)
        assert response.status_code == 200, (url, response.status_code)

    return timed_runs(render)


def job_figures(job: Callable[[], object]) -> dict:
    """A periodic job's run, in a transaction rolled back: what it would change (a refund the
    safety net makes) is not the bench's to keep, and the next run finds the same."""

    results = []

    def run():
        with transaction.atomic():
            results.append(job())
            transaction.set_rollback(True)

    return {**timed_runs(run), "result": repr(results[-1])}


def timed_runs(run: Callable[[], None]) -> dict:
    """The median database time of RENDERS runs after a warm one, its query count and slowest
    query."""
    runs = []
    for _ in range(RENDERS + 1):  # the first warms the caches
        with timed_queries() as timings:
            run()
        runs.append(timings)
    runs = runs[1:]
    totals = [sum(seconds for seconds, _ in timings) for timings in runs]
    slowest = max(runs[0])
    return {
        "db_ms": statistics.median(totals) * 1000,
        "queries": len(runs[0]),
        "slowest_ms": slowest[0] * 1000,
        "slowest_sql": slowest[1][:160],
    }


def feed_plans(cursor: str) -> list[dict]:
    merchant = Merchant.objects.get(pk=settings.DEMO_MERCHANT_ID)
    with CaptureQueriesContext(connection) as queries:
        page, _ = merchant_events_after(merchant=merchant, after=cursor, limit=FEED_PAGE)
    assert len(page) == FEED_PAGE, len(page)
    plans = []
    with connection.cursor() as db:
        for query in queries.captured_queries:
            db.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = [line for (line,) in db.fetchall()]
            plans.append({"sql": query["sql"], "plan": plan})
    return plans


def jobs() -> dict[str, Callable[[], object]]:
    """The periodic jobs (config/schedules.py, settings.PUMP_JOBS), each as a cluster runs it."""
    lane = next(iter(settings.PAYMENT_CHANNELS))
    return {
        f"payment checks, the {lane} lane (every tick)": partial(
            payment_tasks.payments_check_due, channel=lane
        ),
        f"refunds due, the {lane} lane (every tick)": partial(
            payment_tasks.refunds_execute_due, channel=lane
        ),
        "stale callbacks (every tick)": payment_tasks.notifications_reprocess_stale,
        "expiry (every tick)": payment_tasks.orders_close_expired,
        "webhooks due (every tick)": payment_tasks.webhook_deliver_due,
        "safety-net scan (every SAFETY_SCAN_MINUTES)": (
            reconciliation_tasks.scan_unrefunded_extra_successes
        ),
    }


def main() -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(username=settings.DEMO_ADMIN_USERNAME))
    figures = {
        "pages": {name: page_figures(client, url) for name, url in PAGES.items()},
        "jobs": {name: job_figures(job) for name, job in jobs().items()},
    }
    if len(sys.argv) > 1:
        figures["feed"] = feed_plans(sys.argv[1])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
