"""Test-only channel variants, registered through settings.PAYMENT_CHANNELS."""

from dataclasses import replace

from payments.channels.sandbox import SandboxChannel


class SandboxWithoutClose(SandboxChannel):
    """A channel that cannot close a trade (some real ones can't): attempts get superseded."""

    capabilities = replace(SandboxChannel.capabilities, supports_close=False)


class SandboxWithBrokenNotifications(SandboxChannel):
    """An adapter with a bug: reading any notification raises. The inbox must keep the row,
    record the error and move on."""

    def parse_notification(self, headers, body):
        raise RuntimeError("adapter bug while reading a notification")
