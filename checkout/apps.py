from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    """The customer checkout pages: a door that calls down into orders and payments."""

    name = "checkout"
