"""Money on the wire: our integer minor units <-> a channel's decimal strings, exactly.

Many channels speak major units as decimal text (Alipay "12.34" yuan, PayPal "10.00" USD,
"1000" JPY). The number of decimals is the currency's ISO 4217 exponent. Floats never take
part: a float cannot hold most decimal amounts, and a rounding error here is someone's money.
"""

import re
from decimal import Decimal

# ISO 4217 exponents that are not 2. Currencies not named here have two decimals.
ZERO_DECIMAL = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
THREE_DECIMAL = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
FOUR_DECIMAL = ["CLF", "UYW"]
EXPONENTS = (
    dict.fromkeys(ZERO_DECIMAL, 0)
    | dict.fromkeys(THREE_DECIMAL, 3)
    | dict.fromkeys(FOUR_DECIMAL, 4)
)
CURRENCY = re.compile(r"[A-Z]{3}")
# Plain decimal text only: no sign, exponent, spaces, underscores or non-ASCII digits.
DECIMAL_TEXT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


class MoneyFormatError(ValueError):
    """An amount that is not exact money in its currency (a ValueError: adapters treat it as an
    answer of the wrong shape)."""


def exponent(currency: str) -> int:
    if not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
        raise MoneyFormatError(f"not a currency code: {currency!r}")
    return EXPONENTS.get(currency, 2)


def to_decimal_text(minor_units: int, currency: str) -> str:
    """1234 CNY -> "12.34"; 1000 JPY -> "1000"; 1234 KWD -> "1.234"."""
    if type(minor_units) is not int:
        raise MoneyFormatError(f"minor units must be an int, got {minor_units!r}")
    if minor_units < 0:
        raise MoneyFormatError(f"amounts on the wire are not negative, got {minor_units}")
    places = exponent(currency)
    if places == 0:
        return str(minor_units)
    whole, fraction = divmod(minor_units, 10**places)
    return f"{whole}.{fraction:0{places}d}"


def from_decimal_text(text: str, currency: str) -> int:
    """ "12.34" CNY -> 1234; "12.3" -> 1230; "12.345" CNY is refused (excess precision), as is
    a float, a sign, an exponent or anything but plain decimal digits."""
    if not isinstance(text, str):
        raise MoneyFormatError(f"an amount on the wire must be text, got {text!r}")
    match = DECIMAL_TEXT.fullmatch(text)
    if match is None:
        raise MoneyFormatError(f"not a plain decimal amount: {text!r}")
    places = exponent(currency)
    whole, fraction = match.group(1), (match.group(2) or ".")[1:]
    if len(fraction.rstrip("0")) > places:
        raise MoneyFormatError(f"{text!r} has more decimals than {currency} allows ({places})")
    # digit strings, not Decimal arithmetic: exact at any size, no context precision to round
    return int(whole + fraction.ljust(places, "0")[:places])


def from_decimal(value: Decimal, currency: str) -> int:
    """A Decimal read from JSON (``json.loads(..., parse_float=Decimal)``) -> minor units, by
    the same rules as its text; a float is refused, never converted."""
    if not isinstance(value, Decimal):
        raise MoneyFormatError(f"expected a Decimal, got {value!r}")
    if not value.is_finite():
        raise MoneyFormatError(f"not a finite amount: {value!r}")
    return from_decimal_text(format(value, "f"), currency)
