"""Jobs: the refund schedule claims due work, and a real django-q2 cluster (ORM broker) runs
the refund enqueued after commit."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from structlog.contextvars import bound_contextvars

from config.processes import stop_processes
from orders.audit import Actor
from orders.enums import ActorKind
from payments.channels import get_channel
from payments.enums import RefundReason, RefundStatus
from payments.models import Refund
from payments.services.attempts import payment_start
from payments.services.refunds import refund_request
from payments.services.results import payment_apply_channel_result
from payments.tasks import refunds_execute_due
from tests.factories import make_order
from tests.helpers import wait_for
from tests.system import database_url_named

TEST = Actor(ActorKind.PARTNER_API, "tests")


def paid_payment(merchant):
    order = make_order(merchant)
    payment = payment_start(order_id=order.pk, channel="sandbox", client="pc", actor=TEST)
    return payment


def pay_at_sandbox(sandbox, payment):
    sandbox.pay(payment.out_trade_no)
    payment_apply_channel_result(
        result=get_channel("sandbox").query_trade(payment.trade_ref), source="query", actor=TEST
    )


@pytest.mark.django_db
def test_due_refunds_are_claimed_and_executed_and_others_wait(merchant, sandbox):
    payment = paid_payment(merchant)
    pay_at_sandbox(sandbox, payment)
    due = refund_request(payment_id=payment.pk, amount=300, reason=RefundReason.MANUAL, actor=TEST)
    later = refund_request(
        payment_id=payment.pk, amount=200, reason=RefundReason.MANUAL, actor=TEST
    )
    Refund.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    assert refunds_execute_due() == 1

    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == RefundStatus.SUCCEEDED
    assert later.status == RefundStatus.PENDING and later.attempts == 0
    assert refunds_execute_due() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.system
def test_a_real_qcluster_executes_the_refund_enqueued_after_commit(merchant, sandbox, tmp_path):
    payment = paid_payment(merchant)
    pay_at_sandbox(sandbox, payment)
    url = database_url_named(settings.DATABASE_URL, connection.settings_dict["NAME"])
    log_path = tmp_path / "qcluster.log"
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": settings.REDIS_URL,
            "SANDBOX_URL": sandbox.url,
            "SANDBOX_SECRET": sandbox.secret,
            "Q_WORKERS": "1",
            "PAYCENTER_VAR_DIR": str(tmp_path),
            # django-q2 signs queued tasks with SECRET_KEY: every node must share it
            "SECRET_KEY": settings.SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
        },
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: "running." in log_path.read_text(), timeout=30)
        with bound_contextvars(request_id="req_asked_for_the_refund"):
            refund = refund_request(
                payment_id=payment.pk, amount=payment.amount, reason=RefundReason.MANUAL, actor=TEST
            )

        wait_for(
            lambda: Refund.objects.get(pk=refund.pk).status == RefundStatus.SUCCEEDED, timeout=30
        )
        assert sandbox.refund(refund.out_refund_no)["status"] == "SUCCESS"
        # the worker's log line of the refund names the request that caused it
        wait_for(lambda: "refund succeeded" in log_path.read_text(), timeout=10)
        [line] = [
            json.loads(text)
            for text in log_path.read_text().splitlines()
            if text.startswith("{") and "refund succeeded" in text
        ]
        assert line["request_id"] == "req_asked_for_the_refund"
        assert (line["task"], line["refund"]) == ("refund_execute", refund.pk)
    finally:
        assert stop_processes({"qcluster": cluster}, grace=20, interrupt={"qcluster"}) == []
