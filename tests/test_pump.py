import os
import signal
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.models import JobHeartbeat
from config.pump import run_pump
from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import DeliveryStatus, EventType, PaymentStatus, RefundReason, RefundStatus
from payments.models import Event, Payment, Refund, WebhookDelivery
from payments.services.attempts import payment_start
from payments.services.checks import payment_check_now
from payments.services.refunds import refund_request
from tests.api.receiver import Receiver
from tests.factories import make_order
from tests.helpers import wait_for

# Lanes are threads with connections of their own: their writes (the heartbeat) commit, so every
# test here flushes the database after itself.
pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = Actor(ActorKind.CUSTOMER, "test")


@pytest.fixture
def only_these_jobs(settings):
    settings.PUMP_CHANNEL_JOBS = []

    def use(*jobs):
        settings.PUMP_JOBS = [f"tests.test_pump.{job}" for job in jobs]

    return use


def test_every_job_runs_each_tick_and_a_failing_one_stops_nothing(only_these_jobs, caplog):
    only_these_jobs("failing_job", "counting_job")
    counting_job.calls = []

    run_pump(lifetime=0.35, tick=0.1)

    assert len(counting_job.calls) >= 3  # the failing job beside it never stopped it
    assert caplog.text.count("pump job failed: tests.test_pump.failing_job") >= 3


def failing_job():
    raise RuntimeError("boom")


def counting_job():
    counting_job.calls.append(1)


def test_a_job_that_hangs_delays_only_itself(only_these_jobs):
    only_these_jobs("hanging_job", "counting_job")
    counting_job.calls = []
    hanging_job.release = threading.Event()
    pump = threading.Thread(target=run_pump, kwargs={"lifetime": 1, "tick": 0.05})
    pump.start()
    try:
        # the hanging job has not returned, and the other one keeps its ticks meanwhile
        wait_for(lambda: len(counting_job.calls) >= 5, 5, what="the other job ticking")
    finally:
        hanging_job.release.set()
        pump.join()


def hanging_job():
    hanging_job.release.wait(30)


def test_an_interrupt_ends_the_pump_after_the_current_tick(only_these_jobs):
    only_these_jobs("counting_job")
    counting_job.calls = []
    timer = threading.Timer(0.25, lambda: os.kill(os.getpid(), signal.SIGINT))
    before = signal.getsignal(signal.SIGINT)
    timer.start()
    started = time.monotonic()

    run_pump(lifetime=30, tick=0.1)

    assert time.monotonic() - started < 10  # the pump would have run for 30 s
    assert counting_job.calls
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_every_tick_advances_the_clusters_heartbeat(only_these_jobs, settings):
    only_these_jobs()
    settings.JOBS_HEARTBEAT_NAME = "cluster-under-test"
    before = timezone.now()

    run_pump(lifetime=0.15, tick=0.05)

    assert JobHeartbeat.objects.get(name="cluster-under-test").last_tick_at > before


class SilentChannel:
    """A TCP port that accepts connections and never answers, until released: a hanging
    channel (its calls end only at the HTTP timeout)."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._held = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                self._held.append(self._listener.accept()[0])
            except OSError:
                return

    def release(self):
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._thread.join()
        self._listener.close()  # connections still in its backlog are reset
        for held in self._held:
            held.shutdown(socket.SHUT_RDWR)  # the caller sees the connection end at once
            held.close()


def refund_of_a_paid_order(merchant, sandbox, channel):
    payment = payment_start(
        order_id=make_order(merchant).pk, channel=channel, client="pc", actor=CUSTOMER
    )
    sandbox.pay(payment.out_trade_no)
    payment_check_now(payment_id=payment.pk, actor=CUSTOMER)
    return refund_request(
        payment_id=payment.pk, amount=payment.amount, reason=RefundReason.MANUAL, actor=CUSTOMER
    )


def test_a_hanging_channel_delays_only_its_own_checks_and_refunds(merchant, sandbox, settings):
    settings.PAYMENT_CHANNELS["sandbox_card"]["timeout"] = 30
    sandbox.set_faults({"notify_drop": 1})
    hanging_refund = refund_of_a_paid_order(merchant, sandbox, "sandbox_card")
    refund = refund_of_a_paid_order(merchant, sandbox, "sandbox")
    hanging = [
        payment_start(
            order_id=make_order(merchant).pk, channel="sandbox_card", client="pc", actor=CUSTOMER
        )
        for _ in range(2)
    ]
    paid = payment_start(
        order_id=make_order(merchant).pk, channel="sandbox", client="pc", actor=CUSTOMER
    )
    sandbox.pay(paid.out_trade_no)
    now = timezone.now()
    for age, payment in enumerate([*hanging, paid], start=1):  # the hanging ones first in line
        Payment.objects.filter(pk=payment.pk).update(
            next_check_at=now - timedelta(seconds=10 / age)
        )
    for age, due in enumerate([hanging_refund, refund], start=1):
        Refund.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(seconds=10 / age))
    expired = make_order(merchant)
    Order.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(seconds=1))
    receiver = Receiver().start()
    delivery = WebhookDelivery.objects.create(
        event=Event.objects.create(merchant=merchant, type=EventType.ORDER_PAID, payload={}),
        endpoint_url=receiver.url,
        next_attempt_at=now,
    )
    silent = SilentChannel()
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox_card": {**settings.PAYMENT_CHANNELS["sandbox_card"], "base_url": silent.url},
    }
    pump = threading.Thread(target=run_pump, kwargs={"lifetime": 1, "tick": 0.05})
    pump.start()
    try:
        wait_for(
            lambda: Payment.objects.get(pk=paid.pk).status == PaymentStatus.SUCCEEDED,
            10,
            what="the other channel's check",
        )
        wait_for(
            lambda: Order.objects.get(pk=expired.pk).status == OrderStatus.CLOSED, 10, what="expiry"
        )
        wait_for(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED,
            10,
            what="the webhook",
        )
        wait_for(
            lambda: Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED,
            10,
            what="the other channel's refund",
        )
        # the hanging channel's checks are still in flight, under a lease
        assert all(Payment.objects.get(pk=p.pk).check_attempts == 0 for p in hanging)
    finally:
        silent.release()
        pump.join()
        receiver.stop()
