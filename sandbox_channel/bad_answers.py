"""Wrong answers for the ``bad_answer_rate`` fault: HTTP 200 with a body a careful caller rejects.

Each shape is wrong in a way real channels have been seen to be: an HTML error page from a proxy,
a list instead of an object, a field missing, an amount in major units as text, an answer about
another trade than the one asked, a status word the documentation does not list.
"""

import json
from typing import Any

from channel_sim.web import Response

SHAPES = (
    "not_json",
    "json_array",
    "missing_status",
    "amount_as_text",
    "other_out_trade_no",
    "unknown_status",
)
UNKNOWN_STATUS = "PENDING_REVIEW"


def bad_answer(shape: str, answer: Response | None, asked: dict[str, str]) -> Response:
    """A 200 of this shape, built from the real ``answer`` when there is one (work done).

    ``asked`` holds the identifiers of the request (out_trade_no, out_refund_no); without a real
    JSON answer they are what the wrong object is built around.
    """
    if shape == "not_json":
        return Response(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
    base = _json_object(answer) or dict(asked)
    if shape == "json_array":
        return _json([base])
    if shape == "missing_status":
        base.pop("status", None)
    elif shape == "amount_as_text":
        amount = base.get("amount")
        amount = amount if isinstance(amount, int) else 1234
        base["amount"] = f"{amount // 100}.{amount % 100:02d}"
    elif shape == "other_out_trade_no":
        key = "out_refund_no" if "out_refund_no" in asked else "out_trade_no"
        base[key] = f"{asked.get(key, 'unknown')}_other"
    elif shape == "unknown_status":
        base["status"] = UNKNOWN_STATUS
    return _json(base)


def _json_object(answer: Response | None) -> dict[str, Any] | None:
    if answer is None or answer.status != 200 or answer.content_type != "application/json":
        return None
    parsed = json.loads(answer.body)
    return parsed if isinstance(parsed, dict) else None


def _json(payload: Any) -> Response:
    return Response(200, json.dumps(payload).encode(), "application/json")
