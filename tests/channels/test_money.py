"""Money on the wire: minor units <-> decimal text, exact in both directions, for every exponent."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.channels.money import (
    EXPONENTS,
    MoneyFormatError,
    exponent,
    from_decimal,
    from_decimal_text,
    to_decimal_text,
)

CURRENCIES = ["CNY", "USD", "EUR", "JPY", "KRW", "KWD", "BHD", "CLF"]
minor_units = st.integers(min_value=0, max_value=2**63 - 1)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1234, "CNY", "12.34"),
        (1, "CNY", "0.01"),
        (100, "USD", "1.00"),
        (0, "EUR", "0.00"),
        (1000, "JPY", "1000"),
        (5, "KRW", "5"),
        (1234, "KWD", "1.234"),
        (1, "BHD", "0.001"),
        (10000, "CLF", "1.0000"),
        (2**63 - 1, "CNY", "92233720368547758.07"),
    ],
)
def test_known_amounts_both_ways(minor, currency, text):
    assert to_decimal_text(minor, currency) == text
    assert from_decimal_text(text, currency) == minor


@given(minor=minor_units, currency=st.sampled_from(CURRENCIES))
def test_text_round_trips_exactly(minor, currency):
    text = to_decimal_text(minor, currency)
    assert from_decimal_text(text, currency) == minor
    assert Decimal(text) == Decimal(minor).scaleb(-exponent(currency))


@given(minor=minor_units, currency=st.sampled_from(CURRENCIES))
def test_decimals_round_trip_exactly(minor, currency):
    assert from_decimal(Decimal(to_decimal_text(minor, currency)), currency) == minor


@given(minor=minor_units, zeros=st.integers(min_value=1, max_value=5))
def test_trailing_zeros_say_the_same_amount(minor, zeros):
    text = to_decimal_text(minor, "CNY") + "0" * zeros
    assert from_decimal_text(text, "CNY") == minor


@given(
    whole=st.integers(min_value=0, max_value=10**12),
    extra=st.integers(min_value=1, max_value=9),
    currency=st.sampled_from(CURRENCIES),
)
def test_more_decimals_than_the_currency_has_is_refused(whole, extra, currency):
    text = f"{whole}." + "0" * exponent(currency) + str(extra)
    with pytest.raises(MoneyFormatError):
        from_decimal_text(text, currency)


def test_the_exponent_table_is_iso_4217_for_the_currencies_channels_use():
    assert [exponent(code) for code in ("CNY", "USD", "HKD", "JPY", "KRW", "KWD")] == [
        2,
        2,
        2,
        0,
        0,
        3,
    ]
    assert set(EXPONENTS.values()) == {0, 3, 4}  # 2 is the default, never listed


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 12.34",
        "12.34 ",
        "-1.00",
        "+1.00",
        "1e3",
        "1E+3",
        "12,34",
        "12.",
        ".5",
        "012.34",
        "1_000.00",
        "١٢.٣٤",  # Arabic-Indic digits: int() would take them
        "NaN",
        "Infinity",
        "0x10",
    ],
)
def test_anything_but_plain_decimal_text_is_refused(text):
    with pytest.raises(MoneyFormatError):
        from_decimal_text(text, "CNY")


@pytest.mark.parametrize("value", [12.34, 1234, None, b"12.34", Decimal("12.34")])
def test_only_text_is_read_as_text(value):
    with pytest.raises(MoneyFormatError):
        from_decimal_text(value, "CNY")


@pytest.mark.parametrize(
    "value", [12.34, "12.34", Decimal("NaN"), Decimal("-1"), Decimal("1.001"), Decimal("sNaN")]
)
def test_from_decimal_refuses_floats_and_what_is_not_exact_money(value):
    with pytest.raises(MoneyFormatError):
        from_decimal(value, "CNY")


@pytest.mark.parametrize("minor", [-1, 1.0, True, "100", None])
def test_only_non_negative_int_minor_units_go_out(minor):
    with pytest.raises(MoneyFormatError):
        to_decimal_text(minor, "CNY")


@pytest.mark.parametrize("currency", ["cny", "CN", "CNYY", "", None, "C1Y"])
def test_a_currency_must_be_an_iso_code(currency):
    with pytest.raises(MoneyFormatError):
        to_decimal_text(100, currency)
