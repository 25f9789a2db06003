from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from orders.models import Merchant
from orders.services import hash_api_key, merchant_create


class Command(BaseCommand):
    help = "Create the demo merchant and the admin user once; re-runs keep existing data."

    def handle(self, *args, **options):
        if not Merchant.objects.filter(pk=settings.DEMO_MERCHANT_ID).exists():
            merchant_create(
                name=settings.DEMO_MERCHANT_NAME,
                api_key=settings.DEMO_API_KEY,
                merchant_id=settings.DEMO_MERCHANT_ID,
            )
            self.stdout.write(f"created demo merchant {settings.DEMO_MERCHANT_ID}")
        elif not Merchant.objects.filter(api_key_hash=hash_api_key(settings.DEMO_API_KEY)).exists():
            self.stdout.write("demo merchant exists with another API key; left as it is")
        user_model = get_user_model()
        if not user_model.objects.filter(username=settings.DEMO_ADMIN_USERNAME).exists():
            user_model.objects.create_superuser(
                settings.DEMO_ADMIN_USERNAME, "", settings.DEMO_ADMIN_PASSWORD
            )
            self.stdout.write(f"created admin user {settings.DEMO_ADMIN_USERNAME}")
