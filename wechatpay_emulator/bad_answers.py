"""Wrong answers for the ``bad_answer_rate`` fault, in WeChat's shapes: HTTP 200, signed like
every answer (the channel sent them), with a body a careful adapter must not trust.

The same wrongs as the sandbox's (sandbox_channel/bad_answers.py), on WeChat's field names: a
proxy's HTML page, a list, the state missing, the amount in yuan as text, an answer about
another order than the one asked, a state the documentation does not list.
"""

import json
from typing import Any

from channel_sim.web import Response
from sandbox_channel.bad_answers import SHAPES, UNKNOWN_STATUS

__all__ = ["SHAPES", "bad_answer"]

STATE_KEYS = ("trade_state", "status")  # a transaction's state, a refund's status


def bad_answer(shape: str, answer: Response | None, asked: dict[str, str]) -> Response:
    """A 200 of this shape, built from the real ``answer`` when there is one (work done)."""
    if shape == "not_json":
        return Response(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
    base = _json_object(answer) or dict(asked)
    if shape == "json_array":
        return _json([base])
    if shape == "missing_status":
        for key in STATE_KEYS:
            base.pop(key, None)
    elif shape == "amount_as_text":
        amount = base.get("amount") if isinstance(base.get("amount"), dict) else {}
        fen = amount.get("total") if isinstance(amount.get("total"), int) else 1234
        base["amount"] = {**amount, "total": f"{fen // 100}.{fen % 100:02d}"}
    elif shape == "other_out_trade_no":
        key = "out_refund_no" if "out_refund_no" in asked else "out_trade_no"
        base[key] = f"{asked.get(key, 'unknown')}_other"
    elif shape == "unknown_status":
        base["status" if "refund_id" in base else "trade_state"] = UNKNOWN_STATUS
    return _json(base)


def _json_object(answer: Response | None) -> dict[str, Any] | None:
    if answer is None or answer.status != 200 or not answer.body:
        return None
    try:
        parsed = json.loads(answer.body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _json(payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(200, body, "application/json")
