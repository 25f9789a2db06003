"""WeChat Pay v3 cryptography on ``cryptography``: RSA-SHA256 signatures and AEAD_AES_256_GCM.

Requests are signed over ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n``, answers and callbacks over
``timestamp\\nnonce\\nbody\\n``; signatures are base64 PKCS#1 v1.5 over SHA-256.
"""

import base64
import binascii
import re
import secrets
import string
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
AUTHORIZATION_FIELDS = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
_FIELD = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_NONCE_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Authorization:
    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str


def parse_authorization(header: str) -> Authorization:
    """The fields of an ``Authorization`` header; ValueError when it is not WeChat's shape."""
    schema, _, rest = header.strip().partition(" ")
    if schema != SCHEMA:
        raise ValueError(f"the authorization schema must be {SCHEMA}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _FIELD.fullmatch(part)
        if match is None or match.group(1) in fields:
            raise ValueError('authorization fields must be name="value", each once')
        fields[match.group(1)] = match.group(2)
    if set(fields) != set(AUTHORIZATION_FIELDS):
        raise ValueError(f"authorization must carry exactly {', '.join(AUTHORIZATION_FIELDS)}")
    return Authorization(**fields)


def request_message(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{method}\n{target}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def answer_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), SHA256())).decode()


def verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message, padding.PKCS1v15(), SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def encrypt_resource(apiv3_key: bytes, plaintext: bytes, associated_data: str) -> dict[str, str]:
    """An ``encrypt-resource`` object: AES-256-GCM, a 12-character nonce, tag appended."""
    iv = nonce(12)
    ciphertext = AESGCM(apiv3_key).encrypt(iv.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": iv,
    }
