"""The merchant's WeChat Pay identity: from explicit settings (real credentials), or else from
the emulator's manifest, read at first use (the emulator may start after settings load)."""

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from payments.channels.base import ChannelUnavailable

APIV3_KEY_BYTES = 32


@dataclass(frozen=True)
class Credentials:
    mchid: str
    appid: str
    merchant_private_key: rsa.RSAPrivateKey
    merchant_certificate_serial: str
    apiv3_key: bytes
    # Wechatpay-Serial -> the platform public key it names (PUB_KEY_ID_…); downloaded platform
    # certificates are held by the client (certificates.HeldCertificates), with their validity
    platform_keys: dict[str, rsa.RSAPublicKey]
    platform_public_key_id: str


@dataclass(frozen=True)
class CredentialFiles:
    """Where the credentials are: explicit values win; what is missing comes from ``manifest``."""

    manifest_file: str = ""
    mchid: str = ""
    appid: str = ""
    merchant_private_key_file: str = ""
    merchant_certificate_serial: str = ""
    apiv3_key_file: str = ""
    platform_public_key_file: str = ""
    platform_public_key_id: str = ""

    def load(self) -> Credentials:
        values = self._manifest() | {
            name: value for name, value in vars(self).items() if value and name != "manifest_file"
        }
        try:
            apiv3_key = Path(values["apiv3_key_file"]).read_bytes().strip()
            if len(apiv3_key) != APIV3_KEY_BYTES:
                raise ValueError("the APIv3 key must be 32 bytes")
            private_key = load_pem_private_key(
                Path(values["merchant_private_key_file"]).read_bytes(), password=None
            )
            public_key = load_pem_public_key(Path(values["platform_public_key_file"]).read_bytes())
            if not isinstance(private_key, rsa.RSAPrivateKey) or not isinstance(
                public_key, rsa.RSAPublicKey
            ):
                raise ValueError("WeChat Pay keys are RSA keys")
            return Credentials(
                mchid=str(values["mchid"]),
                appid=str(values["appid"]),
                merchant_private_key=private_key,
                merchant_certificate_serial=str(values["merchant_certificate_serial"]),
                apiv3_key=apiv3_key,
                platform_keys={str(values["platform_public_key_id"]): public_key},
                platform_public_key_id=str(values["platform_public_key_id"]),
            )
        except (KeyError, OSError, ValueError, TypeError) as error:
            raise ChannelUnavailable(f"WeChat Pay credentials are not usable: {error!r}") from None

    def _manifest(self) -> dict:
        if not self.manifest_file:
            return {}
        try:
            manifest = json.loads(Path(self.manifest_file).read_text())
        except (OSError, ValueError):
            return {}  # not there yet: explicit values must then say everything
        return manifest if isinstance(manifest, dict) else {}


class LazyCredentials:
    """Loaded once, at first use; a failed load is tried again at the next use."""

    def __init__(self, files: CredentialFiles):
        self.files = files
        self._loaded: Credentials | None = None
        self._lock = threading.Lock()

    def get(self) -> Credentials:
        with self._lock:
            if self._loaded is None:
                self._loaded = self.files.load()
            return self._loaded
