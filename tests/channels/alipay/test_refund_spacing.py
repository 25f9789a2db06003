"""Alipay asks for at least 3 s between refund calls on one trade. The refund executor keeps to
it (a refund of a trade whose last refund call was sooner is deferred, never failed), and a
call the channel still finds too soon (ACQ.SYSTEM_ERROR) is unknown and retried. Here both the
emulator and the adapter use a shorter spacing."""

import time
from datetime import timedelta
from itertools import pairwise

import pytest

from alipay_emulator.runner import EmulatorProcess
from orders.audit import Actor
from orders.enums import ActorKind
from payments.channels.alipay import AlipayChannel
from payments.channels.sandbox import SandboxChannel
from payments.channels.wechatpay import WechatpayChannel
from payments.enums import RefundStatus
from payments.models import Refund
from payments.services.refunds import refund_execute
from payments.tasks import refunds_execute_due
from tests import channel_servers
from tests.conftest import alipay_channel
from tests.factories import paid_payment, refund_of
from tests.helpers import race, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SPACING = 0.5
REFUND = "alipay.trade.refund"
JOB = Actor(ActorKind.SYSTEM, "alipay-refund-spacing")

emulator = channel_servers.module_process_fixture(
    EmulatorProcess, "alipay-spaced", min_expire_seconds=1, refund_interval=SPACING
)


@pytest.fixture
def spaced(emulator, sandbox, settings):
    """Channel `alipay` on the spacing emulator, keeping to the same spacing."""
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "alipay": alipay_channel(emulator, refund_call_spacing_seconds=SPACING),
    }
    emulator.reset_faults()
    return emulator


def two_refunds(merchant, emulator) -> list[Refund]:
    payment = paid_payment(merchant, emulator, amount=1000, channel="alipay")
    return [refund_of(payment, amount) for amount in (300, 500)]


def status(refund: Refund) -> str:
    return Refund.objects.get(pk=refund.pk).status


def all_succeeded(refunds) -> bool:
    refunds_execute_due()  # the janitor, as the pump runs it every second
    return all(status(refund) == RefundStatus.SUCCEEDED for refund in refunds)


def refund_calls(emulator, refunds) -> list[dict]:
    calls = [call for refund in refunds for call in emulator.calls(REFUND, refund.out_refund_no)]
    return sorted(calls, key=lambda call: call["at"])


def test_alipay_declares_three_seconds_between_refund_calls_and_the_others_none():
    assert AlipayChannel.capabilities.refund_call_spacing_seconds == 3
    assert SandboxChannel.capabilities.refund_call_spacing_seconds == 0
    assert WechatpayChannel.capabilities.refund_call_spacing_seconds == 0


def test_two_partial_refunds_back_to_back_both_succeed_their_calls_spaced(merchant, spaced):
    first, second = two_refunds(merchant, spaced)

    assert refund_execute(refund_id=first.pk, actor=JOB).status == RefundStatus.SUCCEEDED
    deferred = refund_execute(refund_id=second.pk, actor=JOB)

    # not sent, not failed, not counted: due once the trade's last refund call is SPACING old
    assert (deferred.status, deferred.attempts, deferred.needs_attention) == (
        RefundStatus.PENDING,
        0,
        False,
    )
    called_at = Refund.objects.get(pk=first.pk).channel_called_at
    assert deferred.next_attempt_at == called_at + timedelta(seconds=SPACING)
    assert spaced.calls(REFUND, second.out_refund_no) == []
    wait_for(lambda: all_succeeded([first, second]), what="both refunds succeeded")
    calls = refund_calls(spaced, [first, second])
    assert [(call["key"], call["code"]) for call in calls] == [
        (first.out_refund_no, "10000"),
        (second.out_refund_no, "10000"),
    ]
    assert calls[1]["at"] - calls[0]["at"] >= SPACING


def test_two_refunds_of_one_trade_executed_at_once_call_the_channel_one_after_the_other(
    merchant, spaced
):
    refunds = two_refunds(merchant, spaced)

    race(lambda i: refund_execute(refund_id=refunds[i].pk, actor=JOB), 2)

    # one went to the channel, the other waits its turn
    assert sorted(status(refund) for refund in refunds) == [
        RefundStatus.PENDING,
        RefundStatus.SUCCEEDED,
    ]
    wait_for(lambda: all_succeeded(refunds), what="both refunds succeeded")
    calls = refund_calls(spaced, refunds)
    assert [call["code"] for call in calls] == ["10000", "10000"]
    assert all(later["at"] - earlier["at"] >= SPACING for earlier, later in pairwise(calls))


def test_a_refund_call_alipay_finds_too_soon_is_unknown_and_retried(merchant, spaced, settings):
    # an adapter that does not keep to the spacing: Alipay's answer is the only guard left
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "alipay": alipay_channel(spaced, refund_call_spacing_seconds=0),
    }
    first, second = two_refunds(merchant, spaced)
    assert refund_execute(refund_id=first.pk, actor=JOB).status == RefundStatus.SUCCEEDED

    too_soon = refund_execute(refund_id=second.pk, actor=JOB)

    assert too_soon.status == RefundStatus.PROCESSING  # unknown: never a failed refund
    assert "ACQ.SYSTEM_ERROR" in too_soon.last_error
    (refused,) = spaced.calls(REFUND, second.out_refund_no)
    assert refused["sub_code"] == "ACQ.SYSTEM_ERROR"
    time.sleep(SPACING)
    assert refund_execute(refund_id=second.pk, actor=JOB).status == RefundStatus.SUCCEEDED
