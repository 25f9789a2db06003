"""Idempotency-Key rows (written by the partner API) end after their retention: a schedule."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from payments.models import IdempotencyKey


def idempotency_keys_purge() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_RETENTION_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
