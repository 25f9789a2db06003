"""Many pages watching one order share one channel query per payment per read-repair interval,
whatever the number of web workers (threads here, each with its own database connection) —
with Redis up (its window is shared) and with Redis down (a conditional UPDATE in PostgreSQL
takes its place); and the server-push streams of one order in one process share one read."""

import asyncio
import math
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient, Client

from checkout import push
from payments.models import Payment
from tests.factories import make_order, start_payment

WATCHERS = 20
WATCH_SECONDS = 1.5
INTERVAL = 0.25
# Reads each page makes at least, however slow the machine: enough pages reading at once to
# prove the sharing (a fixed time alone read too rarely on a slow machine).
READS_PER_PAGE = 3


def watch(order_id: str, until: float, answers: list) -> None:
    """One open page: reads its status as fast as it can until ``until``, and at least
    READS_PER_PAGE times."""
    page = Client()
    reads = 0
    try:
        while time.monotonic() < until or reads < READS_PER_PAGE:
            answers.append(page.get(f"/checkout/{order_id}/status/").status_code)
            reads += 1
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis_fails", [False, True], ids=["redis-up", "redis-down"])
def test_many_pages_on_one_order_ask_the_channel_once_per_interval(
    merchant, sandbox, redis_server, redis_fails, settings
):
    # given one open attempt, its callbacks lost, watched by many pages at once
    settings.READ_REPAIR_INTERVAL_SECONDS = INTERVAL
    sandbox.set_faults({"notify_drop": 1})
    payment = start_payment(make_order(merchant), "sandbox")
    if redis_fails:
        redis_server.stop()

    # when every page reads its status over and over
    answers: list[int] = []
    started = time.monotonic()
    watchers = [
        threading.Thread(target=watch, args=(payment.order_id, started + WATCH_SECONDS, answers))
        for _ in range(WATCHERS)
    ]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join()
    watched = time.monotonic() - started

    # then every read was answered, and the channel was asked once per interval at most
    queries = sandbox.calls(operation="query", key=payment.out_trade_no)
    assert set(answers) == {200}
    assert 1 <= len(queries) <= math.ceil(watched / INTERVAL) + 1, (len(queries), len(answers))
    assert Payment.objects.get().status == "PAYING"


@pytest.mark.django_db(transaction=True)
def test_server_push_streams_of_one_order_share_one_read_per_tick(
    merchant, sandbox, settings, monkeypatch
):
    # given many pages holding the server-push stream of one order open in one web process
    settings.CHECKOUT_PUSH_TICK_SECONDS = tick = 0.05
    settings.CHECKOUT_PUSH_LIFETIME_SECONDS = lifetime = 0.5
    order = make_order(merchant)
    reads = []
    read_state = push._state_json
    monkeypatch.setattr(
        push, "_state_json", lambda order_id: reads.append(1) or read_state(order_id)
    )

    # when every stream runs to its end
    async def streams():
        async def one() -> str:
            response = await AsyncClient().get(f"/checkout/{order.pk}/events/")
            return "".join([chunk.decode() async for chunk in response.streaming_content])

        return await asyncio.gather(*(one() for _ in range(WATCHERS)))

    started = time.monotonic()
    raw = async_to_sync(streams)()
    streamed = time.monotonic() - started

    # then each stream showed the order, read once per tick for all of them: over the time any
    # stream was open (a slow machine starts them one after another), and far fewer times than
    # each stream reading once per tick of its own life
    assert all("event: status" in text and '"UNPAID:"' in text for text in raw)
    assert len(reads) <= 2 * math.ceil(streamed / tick) + 2, (len(reads), streamed)
    assert len(reads) < WATCHERS * math.ceil(lifetime / tick) / 2, (len(reads), streamed)
