from django import forms


class RefundForm(forms.Form):
    amount = forms.IntegerField(
        min_value=1,
        label="Amount in minor units",
        help_text="Integer minor units (cents, fen): 1050 is 10.50 in a two-decimal currency. "
        "At most what is still refundable.",
    )
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept on the refund."
    )


class ResolveForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done about it: kept on the discrepancy.",
    )


class DayResolveForm(ResolveForm):
    """Resolve one discrepancy from its day's report."""

    discrepancy = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
