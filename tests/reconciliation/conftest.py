"""The three channel servers as real processes, each registered beside the sandbox's channels,
so one test can be run on every channel (`on_channel`)."""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from channel_sim.runner import ChannelProcess
from reconciliation.days import channel_today
from tests.conftest import wechatpay_channel

CHANNELS = ("sandbox", "wechatpay", "alipay")


@dataclass(frozen=True)
class OnChannel:
    code: str
    server: ChannelProcess

    def today(self):
        """Today in the channel's own time zone: the day its statement files today's lines in."""
        return channel_today(self.code, timezone.now())


@pytest.fixture
def wechatpay(wechatpay_process, sandbox, settings):
    """The WeChat Pay emulator registered as channel `wechatpay`, beside the sandbox's."""
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "wechatpay": wechatpay_channel(wechatpay_process),
    }
    wechatpay_process.reset_faults()
    yield wechatpay_process
    wechatpay_process.reset_faults()


@pytest.fixture(params=CHANNELS)
def on_channel(request) -> OnChannel:
    """Each channel in turn: the fixture named after it starts and registers its server."""
    return OnChannel(request.param, request.getfixturevalue(request.param))
