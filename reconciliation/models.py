from django.db import models
from django.db.models import Q

from payments.models import Payment


class StuckPayment(Payment):
    """The back office's list of payments that need finance staff (a proxy: no table of its
    own; which payments are stuck is decided in reconciliation/backoffice/risk.py)."""

    class Meta:
        proxy = True


class StatementDay(models.Model):
    """One channel's day to reconcile (a day in the channel's time zone): whether its statement
    could be had yet, and when it was last reconciled. Days the channel was not ready for, or
    did not answer, stay pending and are tried again by the schedule."""

    class Status(models.TextChoices):
        PENDING = "PENDING"  # not fetched yet, or the channel did not answer: try again
        PROVISIONAL = "PROVISIONAL"  # matched before the channel's lag passed: run again
        RECONCILED = "RECONCILED"  # matched against the final statement

    channel = models.CharField(max_length=32)
    day = models.DateField()
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # One run per day at a time: a run takes the lease with a conditional UPDATE.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "channel"]
        permissions = [("reconcile_statementday", "Can reconcile a channel's day on demand")]
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="statementday_unique_day"),
            models.CheckConstraint(
                condition=Q(status__in=["PENDING", "PROVISIONAL", "RECONCILED"]),
                name="statementday_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.day}"


class Statement(models.Model):
    """A statement file exactly as the channel shipped it. The bytes live in the row (files are
    small, and they are then backed up and rolled back with the lines they produced); a file
    that differs from the last one of its day is a new version, and every version is kept."""

    channel = models.CharField(max_length=32)
    day = models.DateField()
    version = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    raw = models.BinaryField()
    fee_total = models.BigIntegerField(default=0, help_text="minor units, the lines' fees")
    # What the file's own summary says the day's fees are (WeChat Pay's 手续费总金额), kept
    # beside the lines' sum: when the two differ, matching raises it for finance.
    stated_fee_total = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="minor units, as the file states it (empty: it states none)",
    )
    downloaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "channel", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "day", "sha256"], name="statement_unique_file"
            ),
            models.UniqueConstraint(
                fields=["channel", "day", "version"], name="statement_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.day} v{self.version}"


class StatementLine(models.Model):
    """One line of a statement, as the adapter parsed it."""

    class Kind(models.TextChoices):
        PAYMENT = "payment"
        REFUND = "refund"

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    number = models.PositiveIntegerField(help_text="position in the file, from 1")
    kind = models.CharField(max_length=8, choices=Kind)
    out_trade_no = models.CharField(max_length=64)
    channel_trade_no = models.CharField(max_length=64)
    out_refund_no = models.CharField(max_length=64, blank=True)
    channel_refund_no = models.CharField(max_length=64, blank=True)
    amount = models.BigIntegerField(help_text="minor units")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, help_text="the channel's own word")
    time = models.DateTimeField()
    fee = models.BigIntegerField(null=True, blank=True, help_text="minor units")

    class Meta:
        ordering = ["statement", "number"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "number"], name="statementline_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="statementline_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["payment", "refund"]), name="statementline_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.out_refund_no or self.out_trade_no}"


class Outcome(models.TextChoices):
    MATCHED = "MATCHED"
    APPLIED = "APPLIED"  # a success we had not learned, applied from the statement (healed)
    MISSING_HERE = "MISSING_HERE"
    MISSING_AT_CHANNEL = "MISSING_AT_CHANNEL"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    REFUND_MISSING_HERE = "REFUND_MISSING_HERE"
    REFUND_MISSING_AT_CHANNEL = "REFUND_MISSING_AT_CHANNEL"
    REFUND_AMOUNT_MISMATCH = "REFUND_AMOUNT_MISMATCH"
    REFUND_STATUS_MISMATCH = "REFUND_STATUS_MISMATCH"
    FEE_TOTAL_MISMATCH = "FEE_TOTAL_MISMATCH"  # the file's stated fee total is not its lines'


class ReconciliationOutcome(models.Model):
    """What matching found for one fact of a day: a payment or a refund, seen in the statement,
    in our books, or both. One row per fact, updated in place, so a re-run changes nothing."""

    channel = models.CharField(max_length=32)
    day = models.DateField()
    # "payment:<out_trade_no>", "refund:<out_refund_no or channel refund number>", or "fees"
    # (the file's stated fee total against its lines')
    fact = models.CharField(max_length=80)
    outcome = models.CharField(max_length=28, choices=Outcome)
    line = models.ForeignKey(
        StatementLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    discrepancy = models.ForeignKey(
        "reconciliation.Discrepancy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    details = models.JSONField(default=dict)
    found_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel", "day", "fact"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "day", "fact"], name="reconciliationoutcome_unique_fact"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="reconciliationoutcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.day} {self.fact}: {self.outcome}"
