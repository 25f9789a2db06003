"""Test-only channel variants, registered through settings.PAYMENT_CHANNELS."""

from payments.channels.sandbox import SandboxChannel


class SandboxWithoutClose(SandboxChannel):
    """A channel that cannot close a trade (some real ones can't): attempts get superseded."""

    supports_close = False
