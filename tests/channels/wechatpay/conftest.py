"""The WeChat Pay emulator registered as channel `wechatpay`, its keys read from its manifest."""

import pytest


@pytest.fixture
def wechatpay(wechatpay_process, settings):
    settings.PAYMENT_CHANNELS = {
        "wechatpay": {
            "class": "payments.channels.wechatpay.WechatpayChannel",
            "label": "WeChat Pay",
            "base_url": wechatpay_process.url,
            "manifest_file": str(wechatpay_process.data_dir / "keys" / "manifest.json"),
            "timeout": 2,
        }
    }
    wechatpay_process.reset_faults()
    yield wechatpay_process
    wechatpay_process.reset_faults()
