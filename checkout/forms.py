import re
import secrets

from django import forms

from payments.channels import channel_choices
from payments.enums import PaymentClient

# The demo shop's catalogue: (code, name, price in minor units).
DEMO_PRODUCTS = [
    ("tea", "A box of green tea", 1280),
    ("mug", "Ceramic mug", 2500),
    ("book", "Payments engineering handbook", 8900),
]

# Phones and tablets pay in the channel's own page or app; everything else scans a QR code.
# Only the default: the customer can always choose the other way on the page.
MOBILE_USER_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|HarmonyOS|MicroMessenger", re.I)


def client_for_user_agent(user_agent: str) -> str:
    return PaymentClient.MOBILE if MOBILE_USER_AGENT.search(user_agent) else PaymentClient.PC


class ShopOrderForm(forms.Form):
    product = forms.ChoiceField(choices=[(code, name) for code, name, _ in DEMO_PRODUCTS])
    # One-time token rendered with the form: it becomes the order's merchant_order_no, so
    # however often this form is submitted, the database makes one order of it.
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].initial = secrets.token_hex(16)

    def product_details(self) -> tuple[str, int]:
        code = self.cleaned_data["product"]
        return next((name, price) for c, name, price in DEMO_PRODUCTS if c == code)


class ChannelChoiceForm(forms.Form):
    """Pay, or pay another way. ``seen_attempt`` is the attempt the page showed ("" for none):
    a form from an outdated page cannot close an attempt it never showed (checkout.services)."""

    channel = forms.ChoiceField(choices=channel_choices, widget=forms.RadioSelect)
    client = forms.ChoiceField(
        choices=[
            (PaymentClient.PC, "Scan a QR code with my phone"),
            (PaymentClient.MOBILE, "Pay on this device"),
        ],
        widget=forms.RadioSelect,
        required=False,  # hand-made posts without it pay by QR code
    )
    seen_attempt = forms.RegexField(
        regex=r"^(pay_[0-9a-f]+)?$", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, client: str = PaymentClient.PC, exclude: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(code, label) for code, label in channel_choices() if code != exclude]
        self.fields["channel"].choices = choices
        if choices:
            self.fields["channel"].initial = choices[0][0]
        self.fields["client"].initial = client

    def cleaned_client(self) -> str:
        return self.cleaned_data["client"] or PaymentClient.PC

    def cleaned_seen_attempt(self) -> str | None:
        """None when the post did not carry the field at all (not a form of ours)."""
        return self.cleaned_data["seen_attempt"] if "seen_attempt" in self.data else None
