"""Wrong answers for the ``bad_answer_rate`` fault: HTTP 200 with a body a careful caller rejects.

Each shape is wrong in a way a gateway, or whatever stands between, can be: a proxy's HTML error
page, an answer without its signature, one whose signature does not cover its text, a correctly
signed answer about another trade, and a correctly signed trade status Alipay does not document.
"""

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from channel_sim.web import Response

from . import crypto

SHAPES = ("not_json", "unsigned", "bad_sign", "other_out_trade_no", "unknown_status")
UNKNOWN_STATUS = "TRADE_PENDING_REVIEW"
JSON_TYPE = "application/json;charset=utf-8"


def bad_answer(
    shape: str,
    private_key: rsa.RSAPrivateKey,
    response_key: str,
    fields: dict[str, Any] | None,
    asked: dict[str, Any],
) -> Response:
    """A 200 of this shape, built from the real answer's ``fields`` when the work was done."""
    if shape == "not_json":
        return Response(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
    base = dict(fields) if fields is not None else _made_up(asked)
    if shape == "unsigned":
        content = crypto.signed_answer(private_key, response_key, base)
        return Response(200, content[: content.rindex(b',"sign":')] + b"}", JSON_TYPE)
    if shape == "bad_sign":
        signed_other = crypto.signed_answer(private_key, response_key, {**base, "msg": "Other"})
        good = crypto.signed_answer(private_key, response_key, base)
        # the text of one answer with the signature of another
        body = good[: good.rindex(b',"sign":')] + signed_other[signed_other.rindex(b',"sign":') :]
        return Response(200, body, JSON_TYPE)
    if shape == "other_out_trade_no":
        base["out_trade_no"] = f"{asked.get('out_trade_no', 'unknown')}_other"
    elif shape == "unknown_status":
        base["trade_status"] = UNKNOWN_STATUS
    return Response(200, crypto.signed_answer(private_key, response_key, base), JSON_TYPE)


def _made_up(asked: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": "10000",
        "msg": "Success",
        **{key: value for key, value in asked.items() if isinstance(value, str)},
    }
