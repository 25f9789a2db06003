"""The channels the customers pay on: which server answers for each of Paycenter's channel codes,
and how short-lived an order paid there may be.

Only simulated channels are driven — the sandbox (both its codes) and the WeChat Pay and Alipay
emulators — never a real one: a code whose adapter is not one of them, or a WeChat Pay or
Alipay configured with real credentials, is refused before anything runs.
"""

from __future__ import annotations

from django.conf import settings

from config.chaos.doors import ChannelDoors, Emulator, Sandbox
from payments.channels import get_channel

ADAPTERS = {
    "payments.channels.sandbox.SandboxChannel": "sandbox",
    "payments.channels.wechatpay.WechatpayChannel": "wechatpay",
    "payments.channels.alipay.AlipayChannel": "alipay",
}
# Between creating an order and starting its payment a customer may click a few times.
START_SLACK_SECONDS = 5


class NotSimulated(Exception):
    pass


def default_urls() -> dict[str, str]:
    """Where this deployment's settings say each channel server answers."""
    return {
        "sandbox": settings.SANDBOX_URL,
        "wechatpay": settings.WECHATPAY_BASE_URL,
        "alipay": settings.ALIPAY_GATEWAY_URL.removesuffix("/gateway.do"),
    }


def channel_doors(codes: list[str], urls: dict[str, str]) -> dict[str, ChannelDoors]:
    """Each code's server (one object per server: the sandbox's codes share it), in order."""
    servers: dict[str, ChannelDoors] = {}
    doors: dict[str, ChannelDoors] = {}
    for code in codes:
        kind = _simulated_kind(code)
        url = urls[kind]
        if url not in servers:
            servers[url] = Sandbox(url) if kind == "sandbox" else Emulator(url)
        doors[code] = servers[url]
    return doors


def _simulated_kind(code: str) -> str:
    options = settings.PAYMENT_CHANNELS.get(code)
    if options is None:
        raise NotSimulated(f"{code} is not a channel of this deployment")
    kind = ADAPTERS.get(options["class"])
    real = {
        "wechatpay": not settings.WECHATPAY_USES_EMULATOR,
        "alipay": not settings.ALIPAY_USES_EMULATOR,
    }
    if kind is None or real.get(kind, False):
        raise NotSimulated(f"{code} is a real channel here: the chaos check never drives one")
    return kind


def shortest_expires_in(code: str) -> int:
    """The shortest expires_in an order paid on ``code`` may have: the partner API's minimum,
    or longer where the channel needs a later time_expire (Paycenter would refuse to start)."""
    margin = settings.TIME_EXPIRE_MARGIN_SECONDS
    channel_needs = get_channel(code).capabilities.expiry_min_seconds + START_SLACK_SECONDS
    return margin + max(settings.ORDER_MIN_PAYABLE_SECONDS, channel_needs)
