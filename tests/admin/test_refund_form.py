"""The refund form converts what finance types in major units to exact minor units, by the
currency's ISO 4217 exponent, and refuses more than is still refundable."""

import pytest

from backoffice.forms import RefundForm
from payments.enums import PaymentStatus
from payments.models import Refund
from tests.admin.scenario import payment

pytestmark = pytest.mark.django_db


def cleaned(paid, typed: str):
    form = RefundForm({"amount": typed, "reason": "r"}, payment=paid)
    return form.cleaned_data["amount"] if form.is_valid() else form.errors["amount"][0]


@pytest.mark.parametrize(
    ("currency", "amount", "typed", "minor"),
    [
        ("CNY", 3200, "12.80", 1280),
        ("CNY", 3200, "12.8", 1280),
        ("CNY", 3200, "32", 3200),
        ("CNY", 300000, "1,234.56", 123456),
        ("JPY", 5000, "1200", 1200),
        ("KWD", 5000, "1.234", 1234),
    ],
)
def test_major_units_become_exact_minor_units(merchant, currency, amount, typed, minor):
    paid = payment(merchant, amount=amount, currency=currency, status=PaymentStatus.SUCCEEDED)
    assert cleaned(paid, typed) == minor


@pytest.mark.parametrize(
    ("currency", "typed"), [("CNY", "12.805"), ("JPY", "12.5"), ("CNY", "0.1e2")]
)
def test_more_decimals_than_the_currency_has_are_refused(merchant, currency, typed):
    paid = payment(merchant, amount=5000, currency=currency, status=PaymentStatus.SUCCEEDED)
    assert cleaned(paid, typed).startswith("Enter an amount like")


def test_the_form_shows_and_enforces_what_is_still_refundable(merchant):
    paid = payment(merchant, amount=3200, status=PaymentStatus.SUCCEEDED)
    Refund.objects.create(payment=paid, amount=1000, currency="CNY", reason="MANUAL")

    form = RefundForm(payment=paid)

    assert "Still refundable: CNY 22.00." in form.fields["amount"].help_text
    assert cleaned(paid, "999.99") == "CNY 999.99 is more than the CNY 22.00 still refundable."
    assert cleaned(paid, "22.00") == 2200
