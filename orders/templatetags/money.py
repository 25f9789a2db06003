from django import template

register = template.Library()

# ISO-4217 currencies whose minor unit is not 1/100.
MINOR_UNIT_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3}


@register.filter
def money(amount: int, currency: str) -> str:
    """Format integer minor units for people: 1280, "CNY" -> "CNY 12.80". No floats."""
    digits = MINOR_UNIT_DIGITS.get(currency, 2)
    if digits == 0:
        return f"{currency} {amount:,}"
    major, minor = divmod(abs(amount), 10**digits)
    sign = "-" if amount < 0 else ""
    return f"{currency} {sign}{major:,}.{minor:0{digits}d}"
