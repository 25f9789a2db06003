"""Alipay's RSA2: base64 SHA256withRSA (PKCS#1 v1.5) over UTF-8 text, on ``cryptography``.

Requests are signed over their parameters sorted by name as ``k=v`` joined by ``&``, without
``sign`` and without empty values; notifies and return parameters likewise but also without
``sign_type``; an answer over the exact JSON text of its ``<method>_response`` object.
"""

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

REQUEST_UNSIGNED = ("sign",)
NOTIFY_UNSIGNED = ("sign", "sign_type")


def signing_string(params: Mapping[str, str], unsigned: Iterable[str] = REQUEST_UNSIGNED) -> str:
    left_out = set(unsigned)
    return "&".join(
        f"{key}={value}"
        for key, value in sorted(params.items())
        if key not in left_out and value != ""
    )


def sign(private_key: rsa.RSAPrivateKey, message: str) -> str:
    signature = private_key.sign(message.encode(), padding.PKCS1v15(), SHA256())
    return base64.b64encode(signature).decode()


def verify(public_key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message.encode(), padding.PKCS1v15(), SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def signed_params(private_key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    """Notify or return parameters with their ``sign`` (over all but sign and sign_type)."""
    return {**params, "sign": sign(private_key, signing_string(params, NOTIFY_UNSIGNED))}


def signed_answer(private_key: rsa.RSAPrivateKey, response_key: str, fields: Any) -> bytes:
    """``{"<response_key>": {...}, "sign": "..."}``, the sign over the object's exact text."""
    content = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    signature = sign(private_key, content)
    return f'{{"{response_key}":{content},"sign":"{signature}"}}'.encode()
