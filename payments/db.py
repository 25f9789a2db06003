"""PostgreSQL expressions used as column defaults: values only the database can assign."""

from django.db.models import BigIntegerField, Func

EVENT_SEQUENCE = "payments_event_sequence"


class CurrentTransactionId(Func):
    """The writing top-level transaction's 64-bit id (never wraps around)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = BigIntegerField()


class NextEventSequence(Func):
    """The next value of the events' own sequence (created by payments migration 0002)."""

    template = f"nextval('{EVENT_SEQUENCE}')"
    output_field = BigIntegerField()
