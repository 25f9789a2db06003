"""The platform side's signatures on answers and callbacks, and the check of merchants' requests.

WeChat signs with the platform public key (``PUB_KEY_ID_…``) or with a platform certificate; the
``Wechatpay-Serial`` header names which. A request naming one of them gets its answer signed with
it; otherwise (and for callbacks) the configured default is used.
"""

import threading
import time

from . import crypto
from .errors import WechatError, sign_error
from .keys import Keys
from .web import Request

FRESHNESS = 300  # seconds either side of now that a request timestamp may be
SIGNERS = ("public_key", "certificate")


class Signer:
    def __init__(self, keys: Keys, default: str):
        if default not in SIGNERS:
            raise ValueError(f"the signer must be one of {SIGNERS}")
        self._keys = keys
        self._default = default
        self._seen_nonces: dict[str, float] = {}
        self._guard = threading.Lock()

    def headers(self, body: bytes, serial: str | None = None) -> dict[str, str]:
        """Wechatpay-* headers signing ``body``, with the key ``serial`` names if it is ours."""
        if serial not in (self._keys.public_key_id, self._keys.platform_serial):
            serial = self._keys.public_key_id if self._default == "public_key" else None
            serial = serial or self._keys.platform_serial
        private_key = (
            self._keys.public_key_private
            if serial == self._keys.public_key_id
            else self._keys.platform_certificate_private
        )
        timestamp = str(int(time.time()))
        nonce = crypto.nonce()
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": crypto.sign(
                private_key, crypto.answer_message(timestamp, nonce, body)
            ),
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": crypto.SCHEMA,
        }

    def check_request(self, request: Request) -> str:
        """The merchant's mchid once the request's signature holds; else 401 SIGN_ERROR."""
        header = request.headers.get("authorization")
        if not header:
            raise sign_error("the Authorization header is missing")
        try:
            authorization = crypto.parse_authorization(header)
        except ValueError as error:
            raise sign_error(f"the Authorization header is malformed: {error}") from None
        if authorization.mchid != self._keys.mchid:
            raise sign_error("mchid in Authorization is not this merchant")
        if authorization.serial_no.upper() != self._keys.merchant_serial:
            raise sign_error("serial_no does not name the merchant's API certificate")
        if not (authorization.timestamp.isdigit() and len(authorization.timestamp) <= 12):
            raise sign_error("timestamp must be epoch seconds")
        now = time.time()
        if abs(now - int(authorization.timestamp)) > FRESHNESS:
            raise sign_error("the request timestamp is stale (more than 5 minutes off)")
        message = crypto.request_message(
            request.method,
            request.target,
            authorization.timestamp,
            authorization.nonce_str,
            request.body,
        )
        if not crypto.verify(self._keys.merchant_public_key, message, authorization.signature):
            raise sign_error("the signature does not verify")
        self._remember_nonce(authorization.nonce_str, now)
        return authorization.mchid

    def _remember_nonce(self, nonce: str, now: float) -> None:
        with self._guard:
            # Past the freshness window a replay is refused by its timestamp anyway.
            for stale in [
                seen for seen, at in self._seen_nonces.items() if at < now - 2 * FRESHNESS
            ]:
                del self._seen_nonces[stale]
            if nonce in self._seen_nonces:
                raise WechatError(401, "SIGN_ERROR", "this nonce_str was already used")
            self._seen_nonces[nonce] = now
