"""Alipay's RSA2: base64 SHA256withRSA (PKCS#1 v1.5), on ``cryptography``.

Written from Alipay's open-platform documentation, independently of the emulator's code, so the
two check each other. Requests are signed over their parameters sorted by name as ``k=v`` joined
by ``&`` (without ``sign`` and empty values); notifies likewise without ``sign_type`` either; an
answer over the exact text of its ``<method>_response`` object.
"""

import base64
import binascii
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

REQUEST_UNSIGNED = ("sign",)
NOTIFY_UNSIGNED = ("sign", "sign_type")


def signing_string(params: Mapping[str, str], unsigned: Iterable[str] = REQUEST_UNSIGNED) -> str:
    left_out = set(unsigned)
    return "&".join(
        f"{name}={value}"
        for name, value in sorted(params.items())
        if name not in left_out and value != ""
    )


def sign(private_key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(
        private_key.sign(message.encode(), padding.PKCS1v15(), SHA256())
    ).decode()


def verifies(public_key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message.encode(), padding.PKCS1v15(), SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def signed_request(private_key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    return {**params, "sign": sign(private_key, signing_string(params))}
