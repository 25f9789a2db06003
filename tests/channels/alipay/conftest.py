"""The Alipay emulator (the session's alipay_process) registered as channel ``alipay``, beside
the sandbox, with its faults reset."""

import pytest


def alipay_options(process, gateway_url: str | None = None) -> dict:
    return {
        "class": "payments.channels.alipay.AlipayChannel",
        "label": "Alipay",
        "gateway_url": gateway_url or process.gateway_url,
        "manifest_file": str(process.data_dir / "keys" / "manifest.json"),
        "timeout": 2,
    }


@pytest.fixture
def alipay(alipay_process, sandbox, settings):
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "alipay": alipay_options(alipay_process),
    }
    alipay_process.reset_faults()
    yield alipay_process
    alipay_process.reset_faults()
