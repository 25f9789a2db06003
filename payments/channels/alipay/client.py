"""HTTP to Alipay's gateway: signed form POSTs, verified answers.

Every way a call can go wrong becomes ChannelUnavailable (outcome unknown) or ChannelError
(Alipay's definite refusal). An answer is trusted only when its ``sign`` verifies, by Alipay's
public key, over the exact text of its ``<method>_response`` object.
"""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.channels.alipay import signing
from payments.channels.alipay.transformers import china_text
from payments.channels.base import ChannelError, ChannelUnavailable
from payments.channels.http import channel_session

SUCCESS = "10000"
# 20000: service unavailable; sub codes of Alipay's own failures: the outcome is unknown.
UNAVAILABLE_CODES = {"20000"}
UNAVAILABLE_SUB_CODES = {"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"}
UNAVAILABLE_SUB_CODE_PREFIX = "isp."  # Alipay's side failed (isp.unknow-error…)
ERROR_KEY = "error_response"
# The refund refusals Alipay documents as final for the request. Any other (a rate limit on
# refund calls, a balance short for now, a code not known here) is unknown: asked again later,
# never confirmed into a failed refund by a refund query that finds nothing.
REFUND_REFUSALS = frozenset(
    {
        "ACQ.TRADE_NOT_EXIST",
        "ACQ.TRADE_STATUS_ERROR",
        "ACQ.TRADE_HAS_FINISHED",
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "ACQ.DISCORDANT_REPEAT_REQUEST",
        "ACQ.INVALID_PARAMETER",
    }
)


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"


class AlipayClient:
    def __init__(self, *, gateway_url: str, timeout: float):
        self.gateway_url = gateway_url
        self.timeout = timeout

    def signed_params(
        self,
        *,
        app_id: str,
        private_key: rsa.RSAPrivateKey,
        method: str,
        biz_content: Mapping[str, Any],
        now: datetime,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        params = {
            "app_id": app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": china_text(now),
            "version": "1.0",
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
            **(extra or {}),
        }
        return signing.signed_request(private_key, params)

    def call(
        self,
        method: str,
        params: Mapping[str, str],
        alipay_public_key: rsa.RSAPublicKey,
        definite: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """The verified ``<method>_response`` object of a success (code 10000); ``definite``,
        when given, are the only sub codes that are refusals."""
        try:
            response = channel_session().post(
                self.gateway_url,
                data=dict(params),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise ChannelUnavailable(f"{method}: {error}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"{method}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise ChannelUnavailable(f"{method}: unexpected HTTP {response.status_code}")
        answer = verified_answer(response.content, method, alipay_public_key)
        return raise_for_answer(method, answer, definite)


def raise_for_answer(
    method: str, answer: dict[str, Any], definite: frozenset[str] | None = None
) -> dict[str, Any]:
    """A success as it is; Alipay's failures as unknown or as its refusal."""
    code, sub_code = answer.get("code"), answer.get("sub_code")
    if code == SUCCESS:
        return answer
    message = str(answer.get("sub_msg") or answer.get("msg") or "")
    if (
        not isinstance(code, str)
        or code in UNAVAILABLE_CODES
        or sub_code in UNAVAILABLE_SUB_CODES
        or (isinstance(sub_code, str) and sub_code.startswith(UNAVAILABLE_SUB_CODE_PREFIX))
        or (definite is not None and sub_code not in definite)
    ):
        raise ChannelUnavailable(f"{method}: {code} {sub_code} {message}")
    raise ChannelError(str(sub_code or code), message)


def verified_answer(
    body: bytes, method: str, alipay_public_key: rsa.RSAPublicKey
) -> dict[str, Any]:
    """The response object, once its signature verifies over its exact text; else unknown."""
    try:
        text = body.decode("utf-8")
        whole = json.loads(text)
        if not isinstance(whole, dict):
            raise ValueError("not a JSON object")
        key = response_key(method) if response_key(method) in whole else ERROR_KEY
        content, answer = _raw_object(text, key)
        if whole.get(key) != answer or not isinstance(answer, dict):
            raise ValueError(f"{key} is not one object")
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError among them
        raise ChannelUnavailable(f"{method}: unreadable answer: {error}") from None
    signature = whole.get("sign")
    if not isinstance(signature, str) or not signature:
        raise ChannelUnavailable(f"{method}: the answer is not signed")
    if not signing.verifies(alipay_public_key, content, signature):
        raise ChannelUnavailable(f"{method}: the answer's signature does not verify")
    return answer


def _raw_object(text: str, key: str) -> tuple[str, Any]:
    """The exact text of the value of top-level ``key`` (what Alipay signs), and the value."""
    start = text.find(f'"{key}"')
    if start < 0:
        raise ValueError(f"no {key}")
    colon = text.index(":", start + len(key) + 2)
    begin = colon + 1
    while text[begin : begin + 1].isspace():
        begin += 1
    value, end = json.JSONDecoder().raw_decode(text, begin)
    return text[begin:end], value
