"""One chaos run: customers under faults and disruptions, then settling, then the verdict."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config.chaos import disruptions
from config.chaos.customers import Shop, Visit, closed, visit
from config.chaos.doors import Answers, ChannelDoors
from config.chaos.timeline import Timeline
from config.chaos.verdict import Clock, Ledger, Verdict, judge

SETTLE_POLL_SECONDS = 2
MAX_CONCURRENT_CUSTOMERS = 32
SHOWN_ERRORS = 10  # the first unexpected answers, each named
# The channels' records are read from a little before the run (its trades are all younger).
RECORDS_MARGIN = timedelta(minutes=1)


def channel_faults(*, seed: int, channel_timeout: float) -> dict:
    """Everything the sandbox can do wrong at once. Hangs outlast Paycenter's channel timeout
    just enough that the run does not wait for minutes."""
    return {
        "notify_drop": 0.3,
        "notify_duplicate": 0.3,
        "notify_delay_ms": [0, 1500],
        "notify_reorder": True,
        "api_error_rate": {"create": 0.1, "query": 0.2, "close": 0.2, "refund": 0.2},
        "api_timeout_rate": {"create": 0.05, "query": 0.1, "close": 0.1, "refund": 0.1},
        "api_hang_rate": {"query": 0.05, "refund_query": 0.05},
        "query_stale_rate": 0.3,
        "close_unknown_rate": 0.3,
        "pay_after_expire": True,  # closes cross payments: a closed code still takes money
        "hang_ms": int((channel_timeout + 1) * 1000),
        "hang_long_ms": int((channel_timeout + 2) * 1000),
        "seed": seed,
    }


@dataclass(frozen=True)
class Options:
    customers: int
    kill_workers: bool
    stop_redis: bool
    window_seconds: float
    settle_seconds: float
    seed: int
    channel_timeout: float


@dataclass
class Run:
    """What a run did, all that is needed to judge it (again later, from its ``run.json``)."""

    name: str
    started: datetime
    answers: Answers
    orders: list[str] = field(default_factory=list)
    double_submits: list[list[str]] = field(default_factory=list)  # the orders each one saw
    unpaid: list[str] = field(default_factory=list)  # orders no customer paid at the channel

    def record(self, visits: list[Visit]) -> None:
        self.orders = sorted({v.order_id for v in visits if v.order_id})
        self.double_submits = [sorted(v.orders_seen) for v in visits if v.orders_seen]
        self.unpaid = sorted({v.order_id for v in visits if v.order_id and not v.paid})

    def save(self, path: Path) -> None:
        data = {
            "run": self.name,
            "started": self.started.isoformat(),
            "orders": self.orders,
            "double_submits": self.double_submits,
            "unpaid": self.unpaid,
            "answers": dict(self.answers.counts),
            "errors": self.answers.errors,
        }
        path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> Run:
        data = json.loads(path.read_text())
        answers = Answers()
        answers.counts.update(data["answers"])
        answers.errors = data["errors"]
        return cls(
            data["run"],
            datetime.fromisoformat(data["started"]),
            answers,
            data["orders"],
            data["double_submits"],
            data["unpaid"],
        )


def run_chaos(shop: Shop, options: Options) -> Run:
    """Customers arrive spread over ``options.window_seconds`` while the channel misbehaves;
    workers die and Redis is down in the middle of it. Faults are cleared and Redis is running
    again at the end, also when the run is interrupted."""
    timeline = shop.timeline
    faults = channel_faults(seed=options.seed, channel_timeout=options.channel_timeout)
    run = Run(shop.run, datetime.now(UTC), shop.answers)
    spacing = options.window_seconds / options.customers

    def arrive(customer: int) -> Visit:
        time.sleep(customer * spacing)
        return visit(shop, customer)

    try:
        for server in channel_servers(shop):
            server.set_faults(faults)
        timeline.note("fault", f"channels misbehave: {json.dumps(faults, sort_keys=True)}")
        disrupting = threading.Thread(target=_disrupt, args=(options, timeline), daemon=True)
        disrupting.start()
        with ThreadPoolExecutor(min(options.customers, MAX_CONCURRENT_CUSTOMERS)) as pool:
            run.record(list(pool.map(arrive, range(options.customers))))
        timeline.note("customer", f"{options.customers} customers done")
        disrupting.join()
    finally:
        for server in channel_servers(shop):
            server.set_faults({})
        if options.stop_redis:
            disruptions.start_redis()  # already running again unless the run was cut short
    timeline.note("recovery", "channel faults cleared")
    if options.kill_workers:
        timeline.note("recovery", f"{len(disruptions.q2_workers())} q2 workers running")
    return run


def channel_servers(shop: Shop) -> list[ChannelDoors]:
    """Each channel server once (the sandbox serves two codes)."""
    return list({doors.url: doors for doors in shop.channels.values()}.values())


def _disrupt(options: Options, timeline: Timeline) -> None:
    """Over the window: workers killed in its first and last sixth (django-q2's statistics,
    which name them, live in Redis), Redis stopped from a third to two thirds of it."""
    rng = random.Random(options.seed)
    started = time.monotonic()

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + fraction * options.window_seconds - time.monotonic()))

    def kill(fraction: float) -> None:
        at(fraction)
        pid = disruptions.kill_a_worker(rng)
        timeline.note("disruption", f"SIGKILL q2 worker {pid}" if pid else "no q2 worker found")

    if options.kill_workers:
        kill(1 / 6)
    if options.stop_redis:
        at(1 / 3)
        disruptions.stop_redis()
        timeline.note("disruption", "Redis stopped")
        at(2 / 3)
        disruptions.start_redis()
        timeline.note("recovery", "Redis started again")
    if options.kill_workers:
        kill(5 / 6)
        kill(1)


def settle(shop: Shop, run: Run, options: Options) -> Verdict:
    """Closes what no customer paid (the partner cancels), then judges until the promise holds
    or the settle time is up."""
    deadline = time.monotonic() + options.settle_seconds
    partner = shop.session()
    unpaid = set(run.unpaid)
    while True:
        verdict = check(shop, run)
        if verdict.holds or time.monotonic() > deadline:
            break
        for order_id in sorted(unpaid):
            if closed(partner.close_order(order_id)):
                unpaid.discard(order_id)
        time.sleep(SETTLE_POLL_SECONDS)
    shop.timeline.note("verdict", "HOLDS" if verdict.holds else "BROKEN")
    return verdict


def callback_answers(shop: Shop, orders: list[dict]) -> tuple[Counter[str], list[str]]:
    """How Paycenter answered every callback the channels sent about the run's payments and
    refunds, by the channels' own logs: ``callback ok`` (< 500) or ``callback error`` (a 5xx,
    or no answer), and each error named."""
    counts: Counter[str] = Counter()
    errors: list[str] = []
    for order in orders:
        for payment in order["payments"]:
            doors = shop.channels.get(payment["channel"])
            if doors is None:  # judged again with other --channels
                continue
            refunds = [
                r["out_refund_no"] for r in order["refunds"] if r["payment"] == payment["id"]
            ]
            for subject in (payment["out_trade_no"], *refunds):
                for status in doors.callback_answers(subject):
                    kind = (
                        "callback ok" if status is not None and status < 500 else "callback error"
                    )
                    counts[kind] += 1
                    if kind == "callback error":
                        errors.append(f"a callback about {subject}: {status or 'no answer'}")
    return counts, errors


def check(shop: Shop, run: Run) -> Verdict:
    """The verdict now: Paycenter's orders against the channels' records since the run."""
    client = shop.session()
    orders = [client.order(order_id) for order_id in run.orders]
    unreadable = [oid for oid, order in zip(run.orders, orders, strict=True) if order is None]
    orders = [order for order in orders if order is not None]
    trades = {payment["out_trade_no"] for order in orders for payment in order["payments"]}
    since = run.started - RECORDS_MARGIN
    lines = [line for server in channel_servers(shop) for line in server.lines(since)]
    clock = Clock(datetime.now(UTC), shop.clock_skew)
    callbacks, callback_errors = callback_answers(shop, orders)
    answers = dict(run.answers.counts) | callbacks
    verdict = judge(orders, Ledger.from_lines(lines, trades), answers, clock)
    verdict.violations += [f"{order_id} could not be read" for order_id in unreadable]
    errors = run.answers.errors + callback_errors
    verdict.violations += [f"answered {error}" for error in errors[:SHOWN_ERRORS]]
    verdict.violations += [
        f"one submission made several orders: {', '.join(seen)}"
        for seen in run.double_submits
        if len(seen) > 1
    ]
    return verdict
