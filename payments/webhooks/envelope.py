"""The one shape a partner receives for an event: the webhook body and a GET /events item."""

import json

from payments.models import Event
from payments.timestamps import utc_text


def event_envelope(event: Event) -> dict:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": utc_text(event.created_at),
        "data": event.payload,
    }


def event_body(event: Event) -> bytes:
    """The exact bytes that are signed and sent: the same on every attempt."""
    return json.dumps(event_envelope(event), separators=(",", ":"), sort_keys=True).encode()
