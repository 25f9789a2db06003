"""WeChat Pay platform certificates (``GET /v3/certificates``): read, checked, held by serial.

Each entry is encrypted like a callback resource under the APIv3 key (only WeChat and we know it),
its X.509 serial must be the entry's ``serial_no``, and it is believed only while it is valid:
from the later of ``effective_time`` and the certificate's notBefore to the earlier of
``expire_time`` and its notAfter. One that is expired or not yet valid is never used, whether it
was just downloaded or has been held since it was valid; during a rotation WeChat serves the old
and the new one side by side, each valid on its own dates.
"""

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.channels import wire
from payments.channels.wechatpay import signing


class CertificateNotValid(ValueError):
    """A held certificate named outside its validity: whatever it signed is not believed."""


@dataclass(frozen=True)
class PlatformCertificate:
    serial: str
    key: rsa.RSAPublicKey
    valid_from: datetime
    valid_until: datetime

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment <= self.valid_until


def read(apiv3_key: bytes, entries: Iterable[Mapping[str, Any]]) -> list[PlatformCertificate]:
    """The certificates of a ``/v3/certificates`` answer's ``data``. An entry of the wrong shape,
    that does not open, or whose certificate is not what it says raises (wire.WRONG_SHAPE)."""
    return [_certificate(apiv3_key, entry) for entry in entries]


def _certificate(apiv3_key: bytes, entry: Mapping[str, Any]) -> PlatformCertificate:
    pem = signing.decrypt_resource(apiv3_key, entry["encrypt_certificate"])
    certificate = x509.load_pem_x509_certificate(pem)
    serial = f"{certificate.serial_number:X}"
    key = certificate.public_key()
    if serial != wire.text(entry["serial_no"]).upper() or not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"certificate {serial} is not what its entry says")
    return PlatformCertificate(
        serial=serial,
        key=key,
        valid_from=max(
            wire.aware(wire.text(entry["effective_time"])), certificate.not_valid_before_utc
        ),
        valid_until=min(
            wire.aware(wire.text(entry["expire_time"])), certificate.not_valid_after_utc
        ),
    )


class HeldCertificates:
    """The platform certificates downloaded so far, by serial (shared by the adapter's threads)."""

    def __init__(self) -> None:
        self._by_serial: dict[str, PlatformCertificate] = {}
        self._lock = threading.Lock()

    def __contains__(self, serial: str) -> bool:
        with self._lock:
            return serial in self._by_serial

    def keep(self, certificates: Iterable[PlatformCertificate]) -> None:
        with self._lock:
            self._by_serial.update(
                (certificate.serial, certificate) for certificate in certificates
            )

    def key(self, serial: str) -> rsa.RSAPublicKey | None:
        """The key of ``serial`` (None: not held); CertificateNotValid outside its validity."""
        with self._lock:
            certificate = self._by_serial.get(serial)
        if certificate is None:
            return None
        if not certificate.valid_at(datetime.now(UTC)):
            raise CertificateNotValid(
                f"platform certificate {serial} is valid only from"
                f" {certificate.valid_from.isoformat()} until {certificate.valid_until.isoformat()}"
            )
        return certificate.key
