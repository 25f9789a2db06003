"""A channel's declared ranges enforced by the services, against the channels' real servers:
a start whose time_expire the channel would refuse is refused before any call (or its
time_expire clamped to the channel's maximum), and a close the channel does not accept
yet (a configured window, WeChat Pay's v2 rule: not within 5 minutes of the order) is deferred,
never sent and never failed."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from orders.audit import EXPIRY, Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.enums import PaymentStatus
from payments.models import Payment
from payments.services.attempts import CloseOutcome, PaymentRefused, payment_close_attempt
from payments.services.order_closing import OrderNotClosable, order_close
from payments.services.scheduler import payment_check
from tests.conftest import wechatpay_channel
from tests.factories import make_order, start_payment
from tests.helpers import wait_for
from wechatpay_emulator.runner import EmulatorProcess

CUSTOMER = Actor(ActorKind.CUSTOMER, "capabilities")
WINDOW = 2  # seconds: WeChat's 5-minute close window, shrunk
SKEW = 1  # how far the channel's clock may be from ours (CHANNEL_CLOCK_SKEW_SECONDS)


@pytest.fixture
def wechatpay(wechatpay_process, sandbox, settings):
    """WeChat Pay told to keep the v2 rule's 5-minute close window, beside the sandbox's
    channels (the shared emulator closes at once, so nothing here is ever sent early)."""
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "wechatpay": wechatpay_channel(wechatpay_process, close_not_before_seconds=300),
    }
    wechatpay_process.reset_faults()
    return wechatpay_process


@pytest.fixture(scope="module")
def windowed_process(tmp_path_factory):
    """An emulator that refuses a close within WINDOW seconds of the order, as WeChat does."""
    with EmulatorProcess(
        tmp_path_factory.mktemp("wechatpay-window"), close_not_before_seconds=WINDOW
    ) as process:
        yield process


@pytest.fixture
def windowed(windowed_process, settings):
    settings.CHANNEL_CLOCK_SKEW_SECONDS = SKEW

    def register(close_not_before_seconds: int = WINDOW):
        settings.PAYMENT_CHANNELS = {
            "wechatpay": wechatpay_channel(
                windowed_process, close_not_before_seconds=close_not_before_seconds
            )
        }
        return windowed_process

    return register


def closes(process, payment) -> list:
    return process.calls("close", payment.out_trade_no)


def expire(order) -> None:
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_start_with_less_time_left_than_the_channel_needs_is_refused_before_any_call(
    merchant, wechatpay
):
    # paying stops 60 s before expiry: 100 s leaves 40, and WeChat wants time_expire 1 min ahead
    order = make_order(merchant, expires_in=100)
    creates = len(wechatpay.calls("create"))

    with pytest.raises(PaymentRefused) as refused:
        start_payment(order, "wechatpay")

    assert refused.value.code == "order_expiring"
    assert "60" in refused.value.message
    assert not Payment.objects.exists()  # no attempt, nothing failed
    assert len(wechatpay.calls("create")) == creates  # the channel was never asked
    assert Order.objects.get(pk=order.pk).status == OrderStatus.UNPAID
    # the sandbox takes any time_expire still ahead: the order is payable there
    assert start_payment(order, "sandbox").status == PaymentStatus.PAYING


@pytest.mark.django_db
def test_a_time_expire_beyond_the_channels_maximum_is_clamped_to_it(merchant, sandbox, settings):
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "sandbox": {
            **settings.PAYMENT_CHANNELS["sandbox"],
            "class": "tests.channels.SandboxWithShortExpiry",  # at most 600 s
        },
    }
    order = make_order(merchant, expires_in=3600)
    before = timezone.now()

    payment = start_payment(order, "sandbox")

    time_expire = datetime.fromisoformat(sandbox.trade(payment.out_trade_no)["time_expire"])
    assert before + timedelta(seconds=598) <= time_expire <= timezone.now() + timedelta(seconds=600)


@pytest.mark.django_db
def test_switching_away_from_wechat_within_its_close_window_supersedes_without_a_close(
    merchant, wechatpay
):
    order = make_order(merchant)
    first = start_payment(order, "wechatpay")

    second = start_payment(order, "sandbox")

    first.refresh_from_db()
    assert second.channel == "sandbox" and second.status == PaymentStatus.PAYING
    assert first.superseded and first.status == PaymentStatus.PAYING  # still checked
    assert closes(wechatpay, first) == []
    assert payment_close_attempt(payment_id=first.pk, actor=EXPIRY) == CloseOutcome.DEFERRED
    assert closes(wechatpay, first) == []


@pytest.mark.django_db
def test_closing_an_order_within_the_window_is_refused_clearly_and_sends_nothing(
    merchant, wechatpay
):
    order = make_order(merchant)
    payment = start_payment(order, "wechatpay")

    with pytest.raises(OrderNotClosable) as refused:
        order_close(order_id=order.pk, actor=CUSTOMER)

    assert refused.value.code == "payment_in_progress"
    assert "300 s" in refused.value.message
    assert closes(wechatpay, payment) == []
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAYING


@pytest.mark.django_db
def test_an_expired_attempt_is_queried_within_the_window_and_closed_after_it(merchant, windowed):
    process = windowed()
    order = make_order(merchant)
    payment = start_payment(order, "wechatpay")
    expire(order)

    payment_check(payment_id=payment.pk, now=timezone.now())

    payment.refresh_from_db()
    assert closes(process, payment) == []  # deferred, not sent…
    assert process.calls("query", payment.out_trade_no)  # …and asked about instead
    assert payment.status == PaymentStatus.PAYING and payment.next_check_at is not None

    wait_for(
        lambda: timezone.now() > payment.created_at + timedelta(seconds=WINDOW + SKEW),
        what="the close window and the clock skew",
    )
    payment_check(payment_id=payment.pk, now=timezone.now())

    payment.refresh_from_db()
    assert [call["status"] for call in closes(process, payment)] == [204]
    assert payment.status == PaymentStatus.CLOSED


@pytest.mark.django_db
def test_a_close_the_channel_finds_too_early_is_unknown_and_the_attempt_stays_payable(
    merchant, windowed
):
    process = windowed(close_not_before_seconds=0)  # we think it may close; WeChat does not
    order = make_order(merchant)
    payment = start_payment(order, "wechatpay")

    outcome = payment_close_attempt(payment_id=payment.pk, actor=EXPIRY)

    assert outcome == CloseOutcome.UNKNOWN
    assert [call["status"] for call in closes(process, payment)] == [400]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING and not payment.superseded
    assert process.pay(payment.out_trade_no).ok  # it was never closed: the buyer can pay
