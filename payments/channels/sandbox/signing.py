"""The sandbox's notification signature: HMAC-SHA256 over "<timestamp>\n<nonce>\n<body>", hex.

Written here independently of the simulator's own signing code, so the two check each other.
"""

import hashlib
import hmac


def signature(secret: bytes, *, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256).hexdigest()


def verifies(secret: bytes, *, timestamp: str, nonce: str, body: bytes, signed: str) -> bool:
    expected = signature(secret, timestamp=timestamp, nonce=nonce, body=body)
    # compare_digest takes only ASCII str: anything else cannot be our hex digest anyway
    return signed.isascii() and hmac.compare_digest(expected, signed)
