"""Webhook signatures and the merchant's signing secrets (with rotation).

Header: ``Paycenter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
While a rotation overlaps, one ``v1=`` per valid secret is sent (newest first), so a receiver
that still holds the old secret, or already the new one, verifies the same request.
"""

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.audit import Actor
from orders.models import Merchant
from orders.services import new_webhook_secret

SIGNATURE_HEADER = "Paycenter-Signature"

logger = logging.getLogger(__name__)


def signature_header(body: bytes, secrets_: list[str], timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    signatures = [
        hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets_
    ]
    return ",".join([f"t={timestamp}", *(f"v1={signature}" for signature in signatures)])


def signing_secrets(merchant: Merchant, now: datetime) -> list[str]:
    """The current secret, then the previous one while its overlap lasts."""
    valid = [merchant.webhook_secret]
    until = merchant.webhook_secret_previous_until
    if merchant.webhook_secret_previous and until is not None and until > now:
        valid.append(merchant.webhook_secret_previous)
    return valid


def merchant_webhook_secret_rotate(*, merchant_id: str, actor: Actor) -> Merchant:
    """Start signing with a new secret; the old one keeps signing too for the overlap window
    (WEBHOOK_SECRET_OVERLAP_SECONDS). Rotating again drops the oldest: at most two are valid."""
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        merchant.webhook_secret_previous = merchant.webhook_secret
        merchant.webhook_secret_previous_until = timezone.now() + timedelta(
            seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS
        )
        merchant.webhook_secret = new_webhook_secret()
        merchant.save(
            update_fields=[
                "webhook_secret",
                "webhook_secret_previous",
                "webhook_secret_previous_until",
            ]
        )
    logger.info(
        "webhook secret rotated: merchant=%s actor=%s:%s", merchant_id, actor.kind, actor.ref
    )
    return merchant
