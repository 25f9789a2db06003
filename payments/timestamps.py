"""Times on the wire to partners (API answers, webhook bodies, event payloads): one format, UTC
with "Z", as DRF writes them, whatever TIME_ZONE people read pages in."""

from datetime import UTC, datetime


def utc_text(moment: datetime | None) -> str | None:
    """2026-12-01T12:30:00.123456Z (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
