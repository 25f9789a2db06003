"""A payment's pay action (what the customer is shown to pay) for every page that shows one:
the checkout page, and the payment's page in the back office."""

import segno
from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def qr_svg(content: str, title: str) -> str:
    """The QR code as inline SVG (no image request, works offline), sized by CSS."""
    svg = segno.make(content, error="m").svg_inline(
        scale=4, border=2, omitsize=True, title=title, svgclass="qr-code"
    )
    return mark_safe(svg)  # noqa: S308 - segno escapes the title; the rest is generated SVG
