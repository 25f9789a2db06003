"""A buyer pays a stale QR code: the channel takes the money after the trade's time_expire (the
`pay_after_expire` fault, the same key on every channel; without it each refuses). Its statement
lists that payment like any other, and the statement run refunds it: the order was closed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alipay_emulator.runner import EmulatorProcess as AlipayEmulator
from orders.enums import OrderStatus
from orders.models import Order
from payments.channels import get_channel
from payments.channels.base import CreateTrade, RefundResultStatus
from payments.enums import PaymentClient, PaymentStatus, RefundReason
from payments.models import Payment, Refund
from payments.services.results import ApplyOutcome
from payments.tasks import refunds_execute_due
from reconciliation.models import Outcome, ReconciliationOutcome
from reconciliation.statements import statement_reconcile
from tests.conftest import alipay_channel, wechatpay_channel
from tests.factories import make_order, paying_attempt
from tests.helpers import wait_for
from tests.reconciliation.conftest import CHANNELS, OnChannel
from wechatpay_emulator.runner import EmulatorProcess as WechatpayEmulator

pytestmark = pytest.mark.django_db

# The emulators of this module take a trade that expires this soon (WeChat Pay and Alipay want a
# minute), so a test waits seconds, not minutes, for a QR code to go stale.
MIN_EXPIRE_SECONDS = 0.5
EXPIRES_IN = timedelta(seconds=2)  # whole seconds on the wire: still above the minimum
EMULATORS = {
    "wechatpay": (WechatpayEmulator, wechatpay_channel),
    "alipay": (AlipayEmulator, alipay_channel),
}


@pytest.fixture(scope="module")
def quick_emulators(tmp_path_factory):
    processes = {
        code: process_class(tmp_path_factory.mktemp(code), min_expire_seconds=MIN_EXPIRE_SECONDS)
        for code, (process_class, _) in EMULATORS.items()
    }
    for process in processes.values():
        process.start()
    yield processes
    for process in processes.values():
        process.stop()


@pytest.fixture(params=CHANNELS)
def quick_channel(request, sandbox, settings) -> OnChannel:
    if request.param == "sandbox":  # the sandbox takes any time_expire still ahead
        return OnChannel("sandbox", sandbox)
    process = request.getfixturevalue("quick_emulators")[request.param]
    entry = EMULATORS[request.param][1](process)
    settings.PAYMENT_CHANNELS = {**settings.PAYMENT_CHANNELS, request.param: entry}
    process.reset_faults()
    return OnChannel(request.param, process)


def test_a_payment_taken_after_time_expire_is_on_the_statement_and_refunded(
    merchant, quick_channel, monkeypatch
):
    code, server = quick_channel.code, quick_channel.server
    # our WeChat Pay adapter keeps WeChat's minute itself; the stale code needs less
    monkeypatch.setattr("payments.channels.wechatpay.EXPIRY_MIN_SECONDS", 0)
    order = make_order(merchant, amount=700)
    payment = paying_attempt(order, code)
    time_expire = timezone.now() + EXPIRES_IN
    get_channel(code).create_trade(
        CreateTrade(
            out_trade_no=payment.out_trade_no,
            amount=700,
            currency="CNY",
            subject="stale QR",
            notify_url="http://127.0.0.1:9/callbacks/",
            time_expire=time_expire,
            client=PaymentClient.PC,
            return_url="http://127.0.0.1:9/return/",
        )
    )
    wait_for(lambda: timezone.now() > time_expire, timeout=5, what="time_expire passed")
    assert server.pay(payment.out_trade_no).status_code == 409  # stale: refused
    # our side gave up on it at the order's deadline (as the expiry job does)
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.CLOSED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CLOSED)

    server.set_faults({"pay_after_expire": True})
    assert server.pay(payment.out_trade_no).ok  # the stale code takes the money after all
    statement_reconcile(channel=code, day=quick_channel.today())

    found = ReconciliationOutcome.objects.get(channel=code, fact=f"payment:{payment.out_trade_no}")
    assert (found.outcome, found.details["applied"]) == (
        Outcome.APPLIED,
        ApplyOutcome.CLOSED_REFUNDED,
    )
    refunds_execute_due()
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.reason, refund.amount) == (
        payment.pk,
        RefundReason.ORDER_CLOSED,
        700,
    )
    at_channel = get_channel(code).query_refund(refund.refund_ref)  # the money went back
    assert (at_channel.status, at_channel.amount) == (RefundResultStatus.SUCCEEDED, 700)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CLOSED
