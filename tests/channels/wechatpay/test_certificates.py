"""Callbacks signed by a platform certificate (WeChat's older mode): the adapter downloads the
certificates the serial names, keeps them, and downloads again after a rotation; a certificate
that is expired or not yet valid is never believed, downloaded or held."""

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import NameOID

from payments.channels.base import CreateTrade, NotificationRejected, RejectReason, TradeStatus
from payments.channels.wechatpay import WechatpayChannel, certificates
from payments.enums import PaymentClient
from tests.channels.contract.receiver import CallbackReceiver
from tests.helpers import wait_for
from wechatpay_emulator import crypto
from wechatpay_emulator.runner import EmulatorProcess


@pytest.fixture(scope="module")
def certificate_emulator(tmp_path_factory):
    with EmulatorProcess(
        tmp_path_factory.mktemp("wechatpay-certificates"), signer="certificate"
    ) as process:
        yield process


@pytest.fixture
def adapter(certificate_emulator):
    manifest = certificate_emulator.data_dir / "keys" / "manifest.json"
    return WechatpayChannel(
        code="wechatpay", base_url=certificate_emulator.url, manifest_file=str(manifest), timeout=5
    )


def paid_callback(adapter, emulator):
    out_trade_no = "P" + secrets.token_hex(12)
    with CallbackReceiver(adapter.acknowledgement()) as receiver:
        adapter.create_trade(
            CreateTrade(
                out_trade_no=out_trade_no,
                amount=700,
                currency="CNY",
                subject="certificate",
                notify_url=f"{receiver.url}/trade",
                time_expire=datetime.now(UTC) + timedelta(minutes=10),
                client=PaymentClient.PC,
            )
        )
        assert emulator.pay(out_trade_no).ok
        return receiver.first("/trade")


def test_a_callback_signed_by_a_certificate_verifies_after_a_download_and_a_rotation(
    adapter, certificate_emulator
):
    first = paid_callback(adapter, certificate_emulator)
    assert not first.headers["Wechatpay-Serial"].startswith("PUB_KEY_ID_")

    result = adapter.parse_notification(first.headers, first.body).result
    assert (result.status, result.amount) == (TradeStatus.SUCCEEDED, 700)
    assert len(certificate_emulator.calls("certificates")) == 1

    rotated = certificate_emulator.request("POST", "/_emulator/certificates/rotate").json()
    second = paid_callback(adapter, certificate_emulator)
    assert second.headers["Wechatpay-Serial"] == rotated["serial_no"]
    assert adapter.parse_notification(second.headers, second.body).result.amount == 700
    # the first certificate is still held: no download for it
    adapter.parse_notification(first.headers, first.body)
    assert len(certificate_emulator.calls("certificates")) == 2


def test_a_serial_no_certificate_has_is_a_bad_signature(adapter, certificate_emulator):
    callback = paid_callback(adapter, certificate_emulator)
    headers = dict(callback.headers, **{"Wechatpay-Serial": "ABCDEF0123"})

    with pytest.raises(NotificationRejected) as rejected:
        adapter.parse_notification(headers, callback.body)

    assert rejected.value.reason == RejectReason.BAD_SIGNATURE


def rotate(emulator, **validity) -> str:
    """A new platform certificate with this validity (seconds from now); its serial."""
    return emulator.request("POST", "/_emulator/certificates/rotate", json=validity).json()[
        "serial_no"
    ]


def signed_by(emulator, serial: str, callback) -> dict[str, str]:
    """The callback's headers, signed again by the platform certificate ``serial``."""
    [entry] = [e for e in emulator.manifest["platform_certificates"] if e["serial"] == serial]
    key = load_pem_private_key(Path(entry["private_key_file"]).read_bytes(), password=None)
    timestamp, nonce = str(int(time.time())), crypto.nonce()
    signature = crypto.sign(key, crypto.answer_message(timestamp, nonce, callback.body))
    return dict(
        callback.headers,
        **{
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": serial,
        },
    )


@pytest.mark.parametrize(
    "validity",
    [
        pytest.param({"not_before_in": -7200, "not_after_in": -3600}, id="expired"),
        pytest.param({"not_before_in": 3600}, id="not yet valid"),
    ],
)
def test_a_callback_signed_by_a_certificate_out_of_its_validity_is_a_bad_signature(
    adapter, certificate_emulator, validity
):
    callback = paid_callback(adapter, certificate_emulator)
    serial = rotate(certificate_emulator, **validity)
    headers = signed_by(certificate_emulator, serial, callback)

    with pytest.raises(NotificationRejected) as rejected:
        adapter.parse_notification(headers, callback.body)

    assert rejected.value.reason == RejectReason.BAD_SIGNATURE
    assert "valid" in rejected.value.message
    # the current certificate, downloaded with it, still verifies
    assert adapter.parse_notification(callback.headers, callback.body).result.amount == 700


def test_a_held_certificate_that_expires_stops_being_believed(adapter, certificate_emulator):
    serial = rotate(certificate_emulator, not_before_in=-60, not_after_in=3)
    callback = paid_callback(adapter, certificate_emulator)
    assert callback.headers["Wechatpay-Serial"] == serial  # the newest valid one signs
    assert adapter.parse_notification(callback.headers, callback.body).result.amount == 700

    def refused() -> bool:
        try:
            adapter.parse_notification(
                signed_by(certificate_emulator, serial, callback), callback.body
            )
        except NotificationRejected as rejected:
            return rejected.reason == RejectReason.BAD_SIGNATURE
        return False

    wait_for(refused, timeout=10, what="the certificate's expiry")


def certificate_entry(apiv3_key: bytes, *, x509_days: tuple[int, int], entry_days: tuple[int, int]):
    """A /v3/certificates entry whose X.509 dates and whose effective/expire times are given
    as days from now (they may disagree)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platform")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=x509_days[0]))
        .not_valid_after(now + timedelta(days=x509_days[1]))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    return {
        "serial_no": f"{certificate.serial_number:X}",
        "effective_time": (now + timedelta(days=entry_days[0])).isoformat(),
        "expire_time": (now + timedelta(days=entry_days[1])).isoformat(),
        "encrypt_certificate": crypto.encrypt_resource(apiv3_key, pem, "certificate"),
    }


@pytest.mark.parametrize(
    ("x509_days", "entry_days"),
    [
        pytest.param((-10, 10), (-10, -1), id="the entry says expired"),
        pytest.param((-10, -1), (-10, 10), id="the certificate says expired"),
        pytest.param((1, 10), (-10, 10), id="the certificate is not valid yet"),
    ],
)
def test_a_certificate_is_valid_only_where_its_entry_and_its_own_dates_agree(x509_days, entry_days):
    apiv3_key = secrets.token_hex(16).encode()
    entry = certificate_entry(apiv3_key, x509_days=x509_days, entry_days=entry_days)
    held = certificates.HeldCertificates()

    held.keep(certificates.read(apiv3_key, [entry]))

    assert entry["serial_no"] in held
    with pytest.raises(certificates.CertificateNotValid):
        held.key(entry["serial_no"])


def test_a_certificate_valid_by_both_dates_gives_its_key():
    apiv3_key = secrets.token_hex(16).encode()
    entry = certificate_entry(apiv3_key, x509_days=(-10, 10), entry_days=(-5, 5))
    held = certificates.HeldCertificates()

    held.keep(certificates.read(apiv3_key, [entry]))

    assert isinstance(held.key(entry["serial_no"]), rsa.RSAPublicKey)
