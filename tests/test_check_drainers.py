"""A backlog of due payment checks is spread over the job workers of every cluster: the pump's
lane starts drain tasks (once per drain life, across pumps), and the drainers and the pump
never check one payment twice at once (their claims are SKIP LOCKED leases)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_redis import get_redis_connection

from payments.models import Payment
from payments.services.scheduler import payments_check_backlog, payments_drain_due
from tests.factories import make_order, start_payment
from tests.helpers import race


@pytest.fixture
def backlog(merchant, sandbox, settings):
    """Twelve open payments, all due, whose callbacks are lost."""
    settings.PAYMENT_CHECK_DRAINERS = 3
    settings.PAYMENT_CHECK_DRAIN_SECONDS = 30
    sandbox.set_faults({"notify_drop": 1})
    payments = [start_payment(make_order(merchant)) for _ in range(12)]
    Payment.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
    get_redis_connection("default").delete("paycenter:window:check-drainers:sandbox")
    return payments


def drain_tasks() -> int:
    return sum(task.func() == "payments.tasks.payments_drain_due" for task in OrmQ.objects.all())


@pytest.mark.django_db
def test_a_full_batch_starts_the_drainers_once_per_drain_life(backlog):
    # when two pumps' lanes each find a full batch of due checks
    first = payments_check_backlog(now=timezone.now(), batch=4, channel="sandbox")
    second = payments_check_backlog(now=timezone.now(), batch=4, channel="sandbox")

    # then the drainers were started once, for every cluster's workers to take
    assert (first, second) == (4, 4)
    assert drain_tasks() == 3


@pytest.mark.django_db
def test_a_batch_that_is_not_full_starts_no_drainer(backlog):
    assert payments_check_backlog(now=timezone.now(), batch=20, channel="sandbox") == 12
    assert drain_tasks() == 0


@pytest.mark.django_db(transaction=True)
def test_drainers_at_once_check_each_due_payment_once(backlog, sandbox):
    # when four drainers run at the same time
    checked = race(lambda _: payments_drain_due(channel="sandbox"), 4)

    # then every due payment was checked, each by one of them, and asked once
    assert sum(checked) == 12, checked
    queries = Counter(call["key"] for call in sandbox.calls(operation="query"))
    assert [queries[payment.out_trade_no] for payment in backlog] == [1] * 12
