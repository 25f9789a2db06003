"""The notification signature, checked against an independent HMAC computation."""

import hashlib
import hmac

from sandbox_channel.signing import sign


def test_the_signature_is_hmac_sha256_over_timestamp_nonce_and_body():
    body = b'{"out_trade_no":"pay_001"}'
    expected = hmac.new(
        b"test-secret", b"1700000000\n" + b"ab" * 16 + b"\n" + body, hashlib.sha256
    ).hexdigest()

    assert sign("test-secret", "1700000000", "ab" * 16, body) == expected
    assert sign(b"test-secret", "1700000000", "ab" * 16, body) == expected
    assert sign("other-secret", "1700000000", "ab" * 16, body) != expected
    assert sign("test-secret", "1700000001", "ab" * 16, body) != expected
