"""WeChat Pay API v3 signatures and encryption, on ``cryptography``.

Written from WeChat's documentation, independently of the emulator's code, so the two check each
other (and the wechatpayv3 SDK checks both):

- our requests: ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,
  timestamp=…,serial_no=…``, RSA-SHA256 (PKCS#1 v1.5) by the merchant key over
  ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n``;
- their answers and callbacks: ``Wechatpay-Signature`` over ``timestamp\\nnonce\\nbody\\n`` by
  the platform key that ``Wechatpay-Serial`` names;
- callback resources: AEAD_AES_256_GCM under the APIv3 key.
"""

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
ALGORITHM = "AEAD_AES_256_GCM"


class UndecryptableResource(ValueError):
    """A resource that does not decrypt under our APIv3 key (tampered, or another key)."""


def authorization(
    *,
    private_key: rsa.RSAPrivateKey,
    mchid: str,
    serial_no: str,
    method: str,
    target: str,
    body: bytes,
    timestamp: int,
) -> str:
    nonce = secrets.token_hex(16)
    message = f"{method}\n{target}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = base64.b64encode(private_key.sign(message, padding.PKCS1v15(), SHA256()))
    return (
        f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature.decode()}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def verifies(
    public_key: rsa.RSAPublicKey, *, timestamp: str, nonce: str, body: bytes, signature: str
) -> bool:
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, message, padding.PKCS1v15(), SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def decrypt_resource(apiv3_key: bytes, resource: dict) -> bytes:
    """The plaintext of a callback's ``resource``; UndecryptableResource when it does not open."""
    if resource.get("algorithm") != ALGORITHM:
        raise UndecryptableResource(f"resource algorithm is not {ALGORITHM}")
    try:
        ciphertext = base64.b64decode(resource["ciphertext"], validate=True)
        nonce = resource["nonce"].encode()
        associated = (resource.get("associated_data") or "").encode()
        return AESGCM(apiv3_key).decrypt(nonce, ciphertext, associated)
    except (binascii.Error, InvalidTag, ValueError, AttributeError) as error:
        raise UndecryptableResource(f"resource does not decrypt: {error!r}") from None
