"""HMAC signature carried by every notification the channel sends to a merchant."""

import hashlib
import hmac


def sign(secret: bytes | str, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>\\n<nonce>\\n<body>"`` under the shared secret.

    Timestamp and nonce are inside the signed text so a receiver can reject stale and replayed
    notifications without trusting unsigned headers.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()
