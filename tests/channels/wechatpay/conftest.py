"""The WeChat Pay emulator registered as channel `wechatpay`, its keys read from its manifest."""

import pytest

from tests.conftest import wechatpay_channel


@pytest.fixture
def wechatpay(wechatpay_process, settings):
    settings.PAYMENT_CHANNELS = {"wechatpay": wechatpay_channel(wechatpay_process)}
    wechatpay_process.reset_faults()
    yield wechatpay_process
    wechatpay_process.reset_faults()
