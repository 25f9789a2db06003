import segno
from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

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


@register.simple_tag
def qr_svg(content: str, title: str) -> str:
    """The QR code as inline SVG (no image request, works offline), sized by CSS."""
    svg = segno.make(content, error="m").svg_inline(
        scale=4, border=2, omitsize=True, title=title, svgclass="qr-code"
    )
    return mark_safe(svg)  # noqa: S308 - segno escapes the title; the rest is generated SVG
