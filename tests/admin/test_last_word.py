"""What the channel last said decides whether a stuck payment is money at risk, against the real
sandbox process: a failed query or an unknown close is at risk, an abandoned code is not."""

import pytest
from django.utils import timezone

from orders.audit import JOB
from payments.services.attempts import CloseOutcome, payment_close_attempt
from payments.services.checks import payment_check_now
from reconciliation.risk import money_at_risk
from tests.admin.conftest import paying
from tests.admin.scenario import aged

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {line.risk.key: line.count for line in money_at_risk(now=timezone.now())}


@pytest.fixture
def stuck(merchant, sandbox):
    return aged(paying(merchant), "created_at", 10 * 60)  # PAYING past the threshold


def test_a_code_the_buyer_never_paid_is_abandoned_not_at_risk(stuck, sandbox):
    payment_check_now(payment_id=stuck.pk, actor=JOB)  # the channel: waiting for the buyer

    assert counts()["payments_abandoned"] == 1
    assert counts()["payments_unknown"] == 0


def test_a_query_the_channel_did_not_answer_is_at_risk(stuck, sandbox):
    payment_check_now(payment_id=stuck.pk, actor=JOB)
    sandbox.set_faults({"api_error_rate": {"query": 1}})

    payment_check_now(payment_id=stuck.pk, actor=JOB)

    assert counts()["payments_unknown"] == 1
    assert counts()["payments_abandoned"] == 0
    assert "HTTP 5" in stuck.checks.latest("asked_at").error


def test_a_close_whose_result_is_unknown_is_at_risk(stuck, sandbox):
    payment_check_now(payment_id=stuck.pk, actor=JOB)  # waiting for the buyer…
    sandbox.set_faults({"close_unknown_rate": 1})

    outcome = payment_close_attempt(payment_id=stuck.pk, actor=JOB)  # …then the close is unclear

    assert outcome == CloseOutcome.UNKNOWN
    close = stuck.checks.latest("asked_at")
    assert (close.call, close.answer, close.outcome) == ("close", "UNKNOWN", "UNKNOWN")
    assert counts()["payments_unknown"] == 1
    assert counts()["payments_abandoned"] == 0


def test_a_close_that_closed_is_on_the_check_log_and_off_the_list(stuck, sandbox):
    outcome = payment_close_attempt(payment_id=stuck.pk, actor=JOB)

    assert outcome == CloseOutcome.CLOSED
    assert stuck.checks.get().call == "close"
    assert counts()["payments_unknown"] == counts()["payments_abandoned"] == 0
