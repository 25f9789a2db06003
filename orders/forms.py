from django import forms

from payments.channels import channel_choices

# The demo shop's catalogue: (code, name, price in minor units).
DEMO_PRODUCTS = [
    ("tea", "A box of green tea", 1280),
    ("mug", "Ceramic mug", 2500),
    ("book", "Payments engineering handbook", 8900),
]


class ShopOrderForm(forms.Form):
    product = forms.ChoiceField(choices=[(code, name) for code, name, _ in DEMO_PRODUCTS])

    def product_details(self) -> tuple[str, int]:
        code = self.cleaned_data["product"]
        return next((name, price) for c, name, price in DEMO_PRODUCTS if c == code)


class ChannelChoiceForm(forms.Form):
    channel = forms.ChoiceField(choices=channel_choices, widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = channel_choices()
        if choices:
            self.fields["channel"].initial = choices[0][0]
