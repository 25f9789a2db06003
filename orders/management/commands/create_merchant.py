import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator

from orders.services import merchant_create
from orders.webhook_urls import WebhookUrlRefused


class Command(BaseCommand):
    help = "Create a merchant (partner) and print its id, API key and webhook secret once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--webhook-url", default="")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, name: str, webhook_url: str, as_json: bool, **options):
        if webhook_url:
            try:
                URLValidator(schemes=["http", "https"])(webhook_url)
            except ValidationError:
                raise CommandError(f"not an http(s) URL: {webhook_url}") from None
        try:
            created = merchant_create(name=name, webhook_url=webhook_url)
        except WebhookUrlRefused as refused:
            raise CommandError(refused.message) from None
        values = {
            "id": created.merchant.pk,
            "api_key": created.api_key,
            "webhook_secret": created.merchant.webhook_secret,
        }
        if as_json:
            self.stdout.write(json.dumps(values))
            return
        for key, value in values.items():
            self.stdout.write(f"{key}: {value}")
        self.stdout.write("The API key is stored hashed: keep it now, it is not shown again.")
