"""The emulator's identities, generated at first start and kept under ``<data>/keys``.

The merchant side (what the adapter signs with) and the platform side (what the emulator signs
with) are separate RSA-2048 keys, as at WeChat. Everything is written as PEM files plus
``manifest.json``, which Paycenter's settings read; none of it is ever committed. Platform
certificates can be rotated: a new one is added, older ones stay served, and the current one (what
signs) is the newest that is valid now. A rotation may add one that is already expired or not yet
valid, for tests of whoever verifies.
"""

import datetime
import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

MANIFEST = "manifest.json"
CERTIFICATE_DAYS = 5 * 365
APIV3_KEY_ALPHABET = string.ascii_letters + string.digits

FILES = {
    "merchant_private_key_file": "apiclient_key.pem",
    "merchant_certificate_file": "apiclient_cert.pem",
    "platform_public_key_file": "pub_key.pem",
    "platform_private_key_file": "pub_key_private.pem",
    "apiv3_key_file": "apiv3_key.txt",
}


@dataclass(frozen=True)
class Validity:
    """A certificate's validity, in seconds from now (negative: in the past)."""

    not_before_in: float = -86400
    not_after_in: float = CERTIFICATE_DAYS * 86400


@dataclass(frozen=True)
class PlatformCertificate:
    serial: str
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class Keys:
    mchid: str
    appid: str
    apiv3_key: bytes  # 32 ASCII bytes, used as they are for AES-256-GCM
    merchant_serial: str
    merchant_public_key: rsa.RSAPublicKey
    public_key_id: str
    public_key_private: rsa.RSAPrivateKey
    platform_certificates: tuple[PlatformCertificate, ...]  # oldest first; the last is current
    manifest_path: Path

    @property
    def current_certificate(self) -> PlatformCertificate:
        return newest_valid(self.platform_certificates)


def newest_valid(certificates: tuple[PlatformCertificate, ...]) -> PlatformCertificate:
    """The newest certificate valid now, as WeChat signs with; the last one if none is."""
    now = datetime.datetime.now(datetime.UTC)
    valid = [
        (platform.certificate.not_valid_before_utc, order, platform)
        for order, platform in enumerate(certificates)
        if platform.certificate.not_valid_before_utc
        <= now
        <= platform.certificate.not_valid_after_utc
    ]
    if not valid:
        return certificates[-1]
    # X.509 dates have whole seconds: of two made in one second, the later rotation is newer
    return max(valid, key=lambda item: item[:2])[2]


def load_or_create(directory: Path) -> Keys:
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        _create(directory)
    manifest = json.loads(manifest_path.read_text())

    def read(name: str) -> bytes:
        return Path(manifest[name]).read_bytes()

    merchant_certificate = x509.load_pem_x509_certificate(read("merchant_certificate_file"))
    return Keys(
        mchid=manifest["mchid"],
        appid=manifest["appid"],
        apiv3_key=read("apiv3_key_file").strip(),
        merchant_serial=manifest["merchant_certificate_serial"],
        merchant_public_key=merchant_certificate.public_key(),
        public_key_id=manifest["platform_public_key_id"],
        public_key_private=_private_key(read("platform_private_key_file")),
        platform_certificates=tuple(
            _platform(entry) for entry in manifest["platform_certificates"]
        ),
        manifest_path=manifest_path,
    )


def _platform(entry: dict[str, str]) -> PlatformCertificate:
    return PlatformCertificate(
        entry["serial"],
        x509.load_pem_x509_certificate(Path(entry["file"]).read_bytes()),
        _private_key(Path(entry["private_key_file"]).read_bytes()),
    )


def rotate_certificate(directory: Path, validity: Validity | None = None) -> Keys:
    """Add a new platform certificate (valid from a day ago for five years unless ``validity``
    says otherwise); the older ones stay served."""
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["platform_certificates"].append(_new_platform_certificate(directory, validity))
    _write_manifest(directory, manifest)
    return load_or_create(directory)


def _create(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    paths = {name: directory / filename for name, filename in FILES.items()}
    mchid = f"19{secrets.randbelow(10**8):08d}"

    merchant_key = _new_key()
    merchant_certificate = _certificate(merchant_key, f"{mchid} merchant (emulator)")
    _write(paths["merchant_private_key_file"], _private_pem(merchant_key))
    _write(paths["merchant_certificate_file"], _certificate_pem(merchant_certificate))

    public_key_private = _new_key()
    _write(paths["platform_private_key_file"], _private_pem(public_key_private))
    _write(
        paths["platform_public_key_file"],
        public_key_private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )

    apiv3_key = "".join(secrets.choice(APIV3_KEY_ALPHABET) for _ in range(32))
    _write(paths["apiv3_key_file"], apiv3_key.encode())

    manifest = {
        "mchid": mchid,
        "appid": "wx" + secrets.token_hex(8),
        "merchant_certificate_serial": _serial(merchant_certificate),
        "platform_public_key_id": "PUB_KEY_ID_" + secrets.token_hex(16).upper(),
        **{name: str(path.resolve()) for name, path in paths.items()},
        "platform_certificates": [_new_platform_certificate(directory)],
    }
    _write_manifest(directory, manifest)


def _new_platform_certificate(directory: Path, validity: Validity | None = None) -> dict[str, str]:
    key = _new_key()
    certificate = _certificate(key, "Wechatpay platform (emulator)", validity or Validity())
    serial = _serial(certificate)
    certificate_path = directory / f"wechatpay_cert_{serial}.pem"
    key_path = directory / f"wechatpay_cert_{serial}_private.pem"
    _write(key_path, _private_pem(key))
    _write(certificate_path, _certificate_pem(certificate))
    return {
        "serial": serial,
        "file": str(certificate_path.resolve()),
        "private_key_file": str(key_path.resolve()),
    }


def _write_manifest(directory: Path, manifest: dict) -> None:
    entries = {entry["serial"]: entry for entry in manifest["platform_certificates"]}
    current = entries[newest_valid(tuple(_platform(entry) for entry in entries.values())).serial]
    manifest["platform_certificate_serial"] = current["serial"]
    manifest["platform_certificate_file"] = current["file"]
    # Written last and atomically: a manifest exists only once every file it names does.
    partial = directory / (MANIFEST + ".tmp")
    _write(partial, json.dumps(manifest, indent=2).encode())
    partial.replace(directory / MANIFEST)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(
    key: rsa.RSAPrivateKey, common_name: str, validity: Validity | None = None
) -> x509.Certificate:
    validity = validity or Validity()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "WeChat Pay emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(seconds=validity.not_before_in))
        .not_valid_after(now + datetime.timedelta(seconds=validity.not_after_in))
        .sign(key, hashes.SHA256())
    )


def _serial(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "X")


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an emulator key file does not hold an RSA private key")
    return key


def _write(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
