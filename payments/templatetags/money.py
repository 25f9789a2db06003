from django import template

from payments.channels.money import MoneyFormatError, exponent

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    """Format integer minor units for people: 1280, "CNY" -> "CNY 12.80"; 1000 "JPY" -> "JPY
    1,000". The decimals are the currency's ISO 4217 exponent, the same table the channels'
    wire amounts and the back office's typed amounts use. No floats."""
    try:
        digits = exponent(currency)
    except MoneyFormatError:
        return f"{currency} {amount} (minor units)"
    if digits == 0:
        return f"{currency} {amount:,}"
    major, minor = divmod(abs(amount), 10**digits)
    sign = "-" if amount < 0 else ""
    return f"{currency} {sign}{major:,}.{minor:0{digits}d}"
