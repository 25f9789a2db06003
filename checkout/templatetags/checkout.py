from django import template
from django.conf import settings

register = template.Library()


@register.filter
def channel_label(code: str) -> str:
    """The channel's name for people ("Sandbox wallet"), from settings.PAYMENT_CHANNELS."""
    return settings.PAYMENT_CHANNELS.get(code, {}).get("label", code)


@register.filter
def clock(seconds: int) -> str:
    """1730 -> "28:50": the countdown as the page shows it (also without JavaScript)."""
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"
