from django import forms

from payments.channels.money import MoneyFormatError, exponent, from_decimal_text
from payments.models import Payment
from payments.services.refunds import refundable_amount
from payments.templatetags.money import money


class RefundForm(forms.Form):
    """A refund of one payment, typed in its currency's major units ("12.80") and converted
    exactly to minor units; more than is still refundable is refused here, before the review.
    The service checks again under the payment's row lock: this check is for people."""

    amount = forms.CharField(max_length=32)
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept on the refund."
    )

    def __init__(self, *args, payment: Payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.refundable = refundable_amount(payment)
        currency = payment.currency
        field = self.fields["amount"]
        field.label = f"Amount in {currency}"
        field.help_text = (
            f"{_decimals(currency)}, e.g. {_example(currency)}. "
            f"Still refundable: {money(self.refundable, currency)}."
        )

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"].strip()
        currency = self.payment.currency
        try:
            amount = from_decimal_text(text.replace(",", ""), currency)
        except MoneyFormatError:
            raise forms.ValidationError(
                f"Enter an amount like {_example(currency)} ({_decimals(currency)})."
            ) from None
        if amount <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        if amount > self.refundable:
            raise forms.ValidationError(
                f"{money(amount, currency)} is more than the "
                f"{money(self.refundable, currency)} still refundable."
            )
        return amount


def _decimals(currency: str) -> str:
    places = exponent(currency)
    return f"{currency} has {places} decimal{'' if places == 1 else 's'}"


def _example(currency: str) -> str:
    return money(1280 if exponent(currency) else 12, currency).removeprefix(f"{currency} ")


class ResolveForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done about it: kept on the discrepancy.",
    )


class DayResolveForm(ResolveForm):
    """Resolve one discrepancy from its day's report."""

    discrepancy = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
