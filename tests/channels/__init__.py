"""Test-only channel variants, registered through settings.PAYMENT_CHANNELS."""

from dataclasses import replace

from payments.channels.base import ChannelUnavailable
from payments.channels.sandbox import SandboxChannel
from payments.channels.wechatpay import WechatpayChannel


class SandboxWithoutClose(SandboxChannel):
    """A channel that cannot close a trade (some real ones can't): attempts get superseded."""

    capabilities = replace(SandboxChannel.capabilities, supports_close=False)


class SandboxWithShortExpiry(SandboxChannel):
    """A channel whose trades may live at most 10 minutes (Alipay's limit is 15 days)."""

    capabilities = replace(SandboxChannel.capabilities, expiry_max_seconds=600)


class WechatpayWithoutClose(WechatpayChannel):
    """WeChat Pay's protocol on a channel that cannot close: the superseded attempt is still
    queried and refunded through WeChat's API."""

    capabilities = replace(WechatpayChannel.capabilities, supports_close=False)


class SandboxWithBrokenNotifications(SandboxChannel):
    """An adapter with a bug: reading any notification raises. The inbox must keep the row,
    record the error and move on."""

    def parse_notification(self, headers, body):
        raise RuntimeError("adapter bug while reading a notification")


class SandboxWithRefs(SandboxChannel):
    """Like a channel that names trades and refunds by ids of its own (Stripe, PayPal): create and
    refund return refs, and every later call records the reference it was handed."""

    handed: list = []  # shared on purpose: the registry builds its own instance

    def create_trade(self, request):
        action = super().create_trade(request)
        return replace(action, refs={"session": f"cs_{request.out_trade_no}"})

    def query_trade(self, trade):
        self.handed.append(trade)
        return super().query_trade(trade)

    def close_trade(self, trade):
        self.handed.append(trade)
        return super().close_trade(trade)

    def refund(self, request):
        self.handed.append(request.trade)
        result = super().refund(request)
        return replace(result, refs={"refund_id": f"re_{request.out_refund_no}"})

    def query_refund(self, refund):
        self.handed.append(refund)
        return super().query_refund(refund)


class SandboxAnsweringAboutAnotherRefund(SandboxChannel):
    """A refund answer about another out_refund_no (a channel bug, a proxy mixing answers)."""

    def refund(self, request):
        result = super().refund(request)
        return replace(result, out_refund_no=f"{request.out_refund_no}_other")

    def query_refund(self, refund):
        result = super().query_refund(refund)
        return replace(result, out_refund_no=f"{refund.out_refund_no}_other")


class SandboxUnverifiableNow(SandboxChannel):
    """Verifying needs the channel (a platform certificate to fetch) and it does not answer."""

    def parse_notification(self, headers, body):
        raise ChannelUnavailable("certificate download timed out")
