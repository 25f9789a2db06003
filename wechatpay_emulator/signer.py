"""The platform side's signatures on answers and callbacks, and the check of merchants' requests.

WeChat signs with the platform public key (``PUB_KEY_ID_…``) or with a platform certificate; the
``Wechatpay-Serial`` header names which. A request naming one of them gets its answer signed with
it; otherwise (and for callbacks) the configured default is used.
"""

import threading
import time

from . import crypto
from . import keys as key_files
from .errors import WechatError, sign_error
from .keys import Keys
from .web import Request

FRESHNESS = 300  # seconds either side of now that a request timestamp may be
SIGNERS = ("public_key", "certificate")


class Signer:
    def __init__(self, identities: Keys, default: str):
        if default not in SIGNERS:
            raise ValueError(f"the signer must be one of {SIGNERS}")
        self._keys = identities
        self._default = default
        self._seen_nonces: dict[str, float] = {}
        self._guard = threading.Lock()  # protects _keys and _seen_nonces

    @property
    def keys(self) -> Keys:
        with self._guard:
            return self._keys

    def rotate_certificate(self, validity: key_files.Validity | None = None) -> Keys:
        """A new platform certificate, which signs from now on if it is the newest valid one
        (the older ones are still served)."""
        with self._guard:
            self._keys = key_files.rotate_certificate(self._keys.manifest_path.parent, validity)
            return self._keys

    def headers(self, body: bytes, serial: str | None = None) -> dict[str, str]:
        """Wechatpay-* headers signing ``body``, with the key ``serial`` names if it is ours."""
        identities = self.keys
        signing_keys = {identities.public_key_id: identities.public_key_private}
        signing_keys.update(
            (certificate.serial, certificate.private_key)
            for certificate in identities.platform_certificates
        )
        if serial not in signing_keys:
            by_default = {"public_key": identities.public_key_id}
            serial = by_default.get(self._default, identities.current_certificate.serial)
        private_key = signing_keys[serial]
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
        identities = self.keys
        header = request.headers.get("authorization")
        if not header:
            raise sign_error("the Authorization header is missing")
        try:
            authorization = crypto.parse_authorization(header)
        except ValueError as error:
            raise sign_error(f"the Authorization header is malformed: {error}") from None
        if authorization.mchid != identities.mchid:
            raise sign_error("mchid in Authorization is not this merchant")
        if authorization.serial_no.upper() != identities.merchant_serial:
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
        if not crypto.verify(identities.merchant_public_key, message, authorization.signature):
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
