from django.conf import settings
from django.db import models

from payments.models import Payment


class Discrepancy(models.Model):
    """Something a channel said that does not match our books: for finance staff to resolve."""

    class Kind(models.TextChoices):
        MISSING_HERE = "MISSING_HERE"
        MISSING_AT_CHANNEL = "MISSING_AT_CHANNEL"
        AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
        CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
        STATUS_MISMATCH = "STATUS_MISMATCH"
        REFUND_MISMATCH = "REFUND_MISMATCH"

    channel = models.CharField(max_length=32)
    kind = models.CharField(max_length=24, choices=Kind)
    out_trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict)
    found_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-found_at"]
        verbose_name_plural = "discrepancies"
        permissions = [("resolve_discrepancy", "Can resolve a discrepancy")]

    def __str__(self) -> str:
        return f"{self.kind} {self.out_trade_no}"


class StuckPayment(Payment):
    """The back office's list of payments that need finance staff (a proxy: no table of its
    own; which payments are stuck is decided in reconciliation/backoffice/risk.py)."""

    class Meta:
        proxy = True
