"""The emulator's identities, generated at first start and kept under ``<data>/keys``.

Two RSA-2048 key pairs, as on Alipay's open platform: the app's (the merchant signs requests with
its private half; its public half is what was "uploaded" to Alipay) and Alipay's (the emulator
signs answers and notifies with it; the merchant verifies with its public half). All are PEM
files plus ``manifest.json``; none of it is ever committed.
"""

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MANIFEST = "manifest.json"
FILES = {
    "app_private_key_file": "app_private_key.pem",
    "app_public_key_file": "app_public_key.pem",
    "alipay_public_key_file": "alipay_public_key.pem",
    "alipay_private_key_file": "alipay_private_key.pem",
}


@dataclass(frozen=True)
class Keys:
    app_id: str
    seller_id: str  # the merchant's partner id (PID), 2088…
    app_public_key: rsa.RSAPublicKey
    alipay_private_key: rsa.RSAPrivateKey
    manifest_path: Path


def load_or_create(directory: Path) -> Keys:
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        _create(directory)
    manifest = json.loads(manifest_path.read_text())
    app_public_key = serialization.load_pem_public_key(
        Path(manifest["app_public_key_file"]).read_bytes()
    )
    alipay_private_key = serialization.load_pem_private_key(
        Path(manifest["alipay_private_key_file"]).read_bytes(), password=None
    )
    if not isinstance(app_public_key, rsa.RSAPublicKey) or not isinstance(
        alipay_private_key, rsa.RSAPrivateKey
    ):
        raise ValueError("the emulator's key files must hold RSA keys")
    return Keys(
        app_id=manifest["app_id"],
        seller_id=manifest["seller_id"],
        app_public_key=app_public_key,
        alipay_private_key=alipay_private_key,
        manifest_path=manifest_path,
    )


def _create(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    paths = {name: directory / filename for name, filename in FILES.items()}
    for side in ("app", "alipay"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(
            paths[f"{side}_private_key_file"],
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1, what Alipay's SDKs load
                serialization.NoEncryption(),
            ),
        )
        _write(
            paths[f"{side}_public_key_file"],
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
    manifest = {
        "app_id": f"2021{secrets.randbelow(10**12):012d}",
        "seller_id": f"2088{secrets.randbelow(10**12):012d}",
        **{name: str(path.resolve()) for name, path in paths.items()},
    }
    # Written last and atomically: a manifest exists only once every file it names does.
    partial = directory / (MANIFEST + ".tmp")
    _write(partial, json.dumps(manifest, indent=2).encode())
    partial.replace(directory / MANIFEST)


def _write(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
