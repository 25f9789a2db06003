"""Channel registry: channel code -> adapter, resolved from settings.PAYMENT_CHANNELS."""

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from payments.channels.base import Channel
from payments.metrics import TimedChannel


class UnknownChannel(LookupError):
    pass


@cache
def get_channel(code: str, *, timeout: float | None = None) -> Channel:
    """The channel's adapter, its network calls counted and timed for /metrics. ``timeout``
    caps its HTTP timeout below the configured one (a reader who must not wait long, e.g. read
    repair)."""
    try:
        options = dict(settings.PAYMENT_CHANNELS[code])
    except KeyError:
        raise UnknownChannel(code) from None
    adapter_class = import_string(options.pop("class"))
    options.pop("label", None)
    if timeout is not None:
        configured = options.get("timeout") or settings.CHANNEL_HTTP_TIMEOUT_SECONDS
        options["timeout"] = min(configured, timeout)
    return TimedChannel(adapter_class(code=code, **options))


def channel_choices() -> list[tuple[str, str]]:
    return [(code, opts.get("label", code)) for code, opts in settings.PAYMENT_CHANNELS.items()]


@receiver(setting_changed)
def _forget_adapters(*, setting: str, **kwargs) -> None:
    if setting == "PAYMENT_CHANNELS":
        get_channel.cache_clear()
