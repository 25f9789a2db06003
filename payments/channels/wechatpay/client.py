"""HTTP to WeChat Pay API v3: every request signed, every answer's signature checked.

Every way a call can go wrong becomes ChannelUnavailable (outcome unknown): transport errors,
timeouts, 5xx, 429, WeChat's "try again" codes, and any answer whose signature does not verify
(an unsigned or mis-signed answer is not WeChat's word). A verified 4xx is ChannelError.
"""

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.channels import wire
from payments.channels.base import ChannelError, ChannelUnavailable
from payments.channels.http import channel_session
from payments.channels.wechatpay import certificates, signing
from payments.channels.wechatpay.credentials import LazyCredentials

# Not a refusal: WeChat asks to try again with the same numbers.
RETRY_CODES = {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR"}
CERTIFICATES_PATH = "/v3/certificates"
# what a certificate serial looks like (anything else is not worth a download)
CERTIFICATE_SERIAL = re.compile(r"[0-9A-F]{1,40}")


@dataclass(frozen=True)
class Answer:
    status: int
    data: dict[str, Any]  # {} for a 204


class WechatpayClient:
    def __init__(self, *, base_url: str, credentials: LazyCredentials, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.certificates = certificates.HeldCertificates()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Answer:
        target = path + ("?" + urlencode(params) if params else "")
        response = self._send(method, self.base_url + target, target, body)
        self._verify(method, path, response)
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"{method} {path}: HTTP {response.status_code}")
        data = self._json(method, path, response) if response.content else {}
        if response.status_code >= 400:
            code, message = data.get("code"), data.get("message")
            if not isinstance(code, str) or code in RETRY_CODES:
                raise ChannelUnavailable(f"{method} {path}: HTTP {response.status_code} {code}")
            raise ChannelError(code, str(message or ""))
        return Answer(response.status_code, data)

    def platform_key(self, serial: str) -> rsa.RSAPublicKey | None:
        """The platform key ``serial`` names: one we hold, else WeChat's platform certificates
        are downloaded (a rotation brings a new serial) and kept; None when it is not among them.
        A certificate outside its validity raises CertificateNotValid."""
        if CERTIFICATE_SERIAL.fullmatch(serial) and not self._holds(serial):
            self.certificates.keep(self._platform_certificates())
        return self._held_key(serial)

    def _holds(self, serial: str) -> bool:
        return serial in self.credentials.get().platform_keys or serial in self.certificates

    def _held_key(self, serial: str) -> rsa.RSAPublicKey | None:
        public_key = self.credentials.get().platform_keys.get(serial)
        return public_key or self.certificates.key(serial)

    def _platform_certificates(self) -> list[certificates.PlatformCertificate]:
        """``GET /v3/certificates``: its answer verified with a key we hold."""
        answer = self.call("GET", CERTIFICATES_PATH)
        return wire.translated(
            "platform certificates",
            certificates.read,
            self.credentials.get().apiv3_key,
            answer.data["data"] if isinstance(answer.data.get("data"), list) else None,
        )

    def download(self, url: str) -> bytes:
        """A bill file: a signed GET of WeChat's download URL; its answer is not signed (the
        caller checks the file against the signed hash instead)."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self._send("GET", url, target, None)
        if response.status_code != 200:
            raise ChannelUnavailable(f"bill download: HTTP {response.status_code}")
        return response.content

    def _send(
        self, method: str, url: str, target: str, body: dict[str, Any] | None
    ) -> requests.Response:
        credentials = self.credentials.get()
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {
            "Authorization": signing.authorization(
                private_key=credentials.merchant_private_key,
                mchid=credentials.mchid,
                serial_no=credentials.merchant_certificate_serial,
                method=method,
                target=target,
                body=payload,
                timestamp=int(time.time()),
            ),
            "Accept": "application/json",
            # ask for answers signed by the platform public key we hold
            "Wechatpay-Serial": credentials.platform_public_key_id,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return channel_session().request(
                method,
                url,
                data=payload or None,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise ChannelUnavailable(f"{method} {target}: {error}") from error

    def _verify(self, method: str, path: str, response: requests.Response) -> None:
        headers = response.headers
        serial = headers.get("Wechatpay-Serial", "")
        try:
            # the certificates' own answer is checked only with keys already held
            key = self._held_key(serial) if path == CERTIFICATES_PATH else self.platform_key(serial)
        except certificates.CertificateNotValid as error:
            raise ChannelUnavailable(f"{method} {path}: {error}") from None
        if key is None or not signing.verifies(
            key,
            timestamp=headers.get("Wechatpay-Timestamp", ""),
            nonce=headers.get("Wechatpay-Nonce", ""),
            body=response.content,
            signature=headers.get("Wechatpay-Signature", ""),
        ):
            raise ChannelUnavailable(
                f"{method} {path}: HTTP {response.status_code} answer not signed by WeChat Pay"
            )

    @staticmethod
    def _json(method: str, path: str, response: requests.Response) -> dict[str, Any]:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise ChannelUnavailable(f"{method} {path}: unreadable answer") from None
        if not isinstance(data, dict):
            raise ChannelUnavailable(f"{method} {path}: answer is not a JSON object")
        return data
