"""Server push fan-out benchmark (a benchmark, not a test: it prints figures).

Runs the web under uvicorn (ASGI, so the checkout pages get their server-push stream) with two
workers, and the sandbox, on a database of its own; one customer starts paying one order (every
notification dropped, so it stays open), and then N pages (default 200), opened at random
moments within one poll period, watch that order as the real page does: each holds the SSE
stream `events/` open (reconnecting when it ends) and polls `status/` every
CHECKOUT_POLL_SECONDS. Prints the channel queries per minute that cost, against the ceiling of
one query per READ_REPAIR_INTERVAL_SECONDS and what one query per page per read would have
been. No job cluster runs, so every query is a page's read repair.

    .venv/bin/python bench/push_fanout.py [--pages 200] [--seconds 60]

Uses the same PostgreSQL and Redis as the project (embedded under var/ unless DATABASE_URL /
REDIS_URL are set); its database is `paycenter_bench_push`, dropped and made anew on every run.
"""

import argparse
import asyncio
import math
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

from django.conf import settings

from tests.system import System

# The project's defaults, written out so the figures say what they were measured with.
PAGE_SETTINGS = {
    "READ_REPAIR_INTERVAL_SECONDS": "3",
    "CHECKOUT_POLL_SECONDS": "2",
    "CHECKOUT_PUSH_TICK_SECONDS": "1",
    "CHECKOUT_PUSH_LIFETIME_SECONDS": "50",
}


@dataclass
class Watched:
    streams: int = 0
    events: int = 0
    polls: int = 0
    errors: int = 0
    first_error: str = ""

    def failed(self, error: Exception) -> None:
        self.errors += 1
        self.first_error = self.first_error or repr(error)


async def get(host: str, port: int, path: str, on_line=None) -> None:
    """One HTTP/1.1 GET read to its end; ``on_line`` sees every line of the body as it comes."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise ConnectionError(f"{path}: {status.decode(errors='replace').strip()}")
    try:
        while line := await reader.readline():
            if on_line:
                on_line(line)
    finally:
        writer.close()


async def page(base: str, order_id: str, until: float, watched: Watched) -> None:
    """One open checkout page: its stream and its poll, until ``until``."""
    url = urlsplit(base)
    loop = asyncio.get_running_loop()

    def on_event(line: bytes) -> None:
        watched.events += line.startswith(b"event: status")

    async def stream() -> None:
        while loop.time() < until:
            watched.streams += 1
            try:
                await get(url.hostname, url.port, f"/checkout/{order_id}/events/", on_event)
            except (OSError, ConnectionError) as error:
                watched.failed(error)
                await asyncio.sleep(1)

    async def poll() -> None:
        while loop.time() < until:
            try:
                await get(url.hostname, url.port, f"/checkout/{order_id}/status/")
                watched.polls += 1
            except (OSError, ConnectionError) as error:
                watched.failed(error)
            await asyncio.sleep(float(PAGE_SETTINGS["CHECKOUT_POLL_SECONDS"]))

    await asyncio.sleep(random.uniform(0, float(PAGE_SETTINGS["CHECKOUT_POLL_SECONDS"])))
    tasks = [asyncio.create_task(stream()), asyncio.create_task(poll())]
    await asyncio.sleep(max(0.0, until - loop.time()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def watch(base: str, order_id: str, pages: int, seconds: float) -> Watched:
    watched = Watched()
    until = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(*(page(base, order_id, until, watched) for _ in range(pages)))
    return watched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="paycenter-bench-") as directory:
        system = System(
            Path(directory),
            database_url=settings.DATABASE_URL,
            redis_url=settings.REDIS_URL,
            settings=PAGE_SETTINGS,
            database="paycenter_bench_push",
            web_workers=args.web_workers,
            asgi=True,
        )
        system.start(clusters=0)
        try:
            system.sandbox.set_faults({"notify_drop": 1})
            order_id, out_trade_no = system.buy()
            before = len(system.sandbox.calls("query", out_trade_no))
            started = time.monotonic()
            watched = asyncio.run(watch(system.web, order_id, args.pages, args.seconds))
            elapsed = time.monotonic() - started
            queries = len(system.sandbox.calls("query", out_trade_no)) - before
        finally:
            system.stop()

    interval = float(PAGE_SETTINGS["READ_REPAIR_INTERVAL_SECONDS"])
    tick = float(PAGE_SETTINGS["CHECKOUT_PUSH_TICK_SECONDS"])
    poll = float(PAGE_SETTINGS["CHECKOUT_POLL_SECONDS"])
    per_minute = 60 / elapsed
    print(
        f"{args.pages} open pages on one order, {args.web_workers} uvicorn workers, "
        f"{elapsed:.0f} s: {watched.streams} streams opened, {watched.events} status events, "
        f"{watched.polls} polls answered, {watched.errors} errors {watched.first_error}"
    )
    print(
        f"  channel queries: {queries} in {elapsed:.0f} s (at most "
        f"{math.ceil(elapsed / interval) + 1}), {queries * per_minute:.1f} per minute"
    )
    print(
        f"  ceiling per minute (one per {interval:g} s read-repair interval): "
        f"{math.ceil(60 / interval) + 1}"
    )
    print(f"  one query per page per read: {args.pages * (60 / tick + 60 / poll):,.0f} per minute")


if __name__ == "__main__":
    main()
