"""The job system survives killed cluster children, with real processes.

A django-q2 child killed while it holds the cluster's internal task queue lock stops the whole
cluster for good (django-q2 issue 23). Here a worker, the pusher and the monitor are SIGKILLed
one at a time, again and again, mid-work, while the same supervisor as `make run` watches the
cluster's heartbeat: every due refund, check, expiry and webhook still completes, once.
"""

import os
import random
import signal
import time

import pytest
from django.conf import settings

from tests.api.receiver import Receiver
from tests.helpers import wait_for
from tests.system import System
from tests.test_order_loss_system import (
    FAST,
    every_double_refunded,
    order_statuses,
    paid_events_per_order,
    paid_webhooks_per_order,
)

pytestmark = pytest.mark.system

LIVENESS = {
    **FAST,
    "PUMP_LIFETIME_SECONDS": "10",
    "JOBS_HEARTBEAT_STALE_SECONDS": "3",
}
# One at a time, each followed by new work. An idle worker then the busy one (running the
# pump) leaves the task queue's lock held by a dead process and no pump: the cluster is stuck.
KILLS = ("busy worker", "pusher", "monitor", "idle worker", "busy worker") * 2


@pytest.fixture
def receiver():
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def system(tmp_path, receiver):
    running = System(
        tmp_path / "system",
        database_url=settings.DATABASE_URL,
        redis_url=settings.REDIS_URL,
        settings=LIVENESS,
        database="paycenter_liveness",
    ).start(clusters=0)  # the test's cluster runs under the supervisor
    try:
        running.rows("UPDATE orders_merchant SET webhook_url = %s RETURNING id", (receiver.url,))
        yield running
    finally:
        running.stop()


def new_work(system) -> dict[str, list[str]]:
    """One order paid on two channels (a DUPLICATE_PAYMENT refund to execute), two paid with
    every callback lost (only the checks find them), one expired unpaid (expiry closes it)."""
    order_id, first = system.buy(channel="sandbox")
    second = system.pay_with(order_id, "sandbox_card")
    system.sandbox.pay(first)
    system.sandbox.pay(second)
    paid = []
    for _ in range(2):
        paid_id, out_trade_no = system.buy()
        system.sandbox.pay(out_trade_no)
        paid.append(paid_id)
    expiring, _ = system.buy()
    system.rows(
        "UPDATE orders_order SET expires_at = now() - interval '1 second' WHERE id = %s "
        "RETURNING id",
        (expiring,),
    )
    return {"doubles": [order_id], "paid": paid, "expiring": [expiring]}


def test_killing_each_kind_of_cluster_child_again_and_again_loses_and_doubles_nothing(
    system, receiver
):
    system.sandbox.set_faults({"notify_drop": 1, "pay_after_expire": True})
    work = {"doubles": [], "paid": [], "expiring": []}
    rng = random.Random(10)
    with system.supervised_cluster("supervised") as supervisor:
        for kind in KILLS:
            pids = wait_for(
                lambda kind=kind: System.cluster_children(supervisor.process)[kind],
                30,
                what=f"a {kind} to kill",
            )
            os.kill(rng.choice(pids), signal.SIGKILL)
            for key, orders in new_work(system).items():
                work[key] += orders
            time.sleep(rng.uniform(0.5, 2))
        doubles, paid, expiring = work["doubles"], work["paid"], work["expiring"]

        wait_for(
            lambda: set(order_statuses(system, doubles + paid).values()) == {"PAID"},
            120,
            what="every paid order PAID",
        )
        wait_for(
            lambda: set(order_statuses(system, expiring).values()) == {"CLOSED"},
            60,
            what="every expired order CLOSED",
        )
        refunds = every_double_refunded(system, doubles, timeout=60)
        wait_for(
            lambda: set(paid_webhooks_per_order(receiver, doubles + paid)) == set(doubles + paid),
            60,
            what="every order.paid webhook",
        )
        print(f"{len(KILLS)} kills; supervisor restarts: {supervisor.restarts}")

    assert paid_events_per_order(system, doubles + paid) == {o: 1 for o in doubles + paid}
    for _, _, amount, out_trade_no in refunds:
        assert system.sandbox.trade(out_trade_no)["refunded_amount"] == amount  # once
    for order_id in expiring:
        (out_trade_no,) = system.one(
            "SELECT out_trade_no FROM payments_payment WHERE order_id = %s", (order_id,)
        )
        assert system.sandbox.trade(out_trade_no)["status"] == "CLOSED"
