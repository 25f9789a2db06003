"""Where webhooks may go in production: https only, and never to a loopback, link-local or
private address — checked when the URL is saved and again when each webhook is sent (the name
resolved then, the request sent to the address that was checked)."""

import ssl

import pytest
import trustme
from django.db import transaction

from orders.services import merchant_create
from orders.webhook_urls import WebhookUrlRefused, webhook_target
from payments.enums import DeliveryStatus, EventType
from payments.events import event_emit
from payments.models import WebhookDelivery
from payments.tasks import webhook_deliver_due
from tests.api.receiver import Receiver
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


def emit(merchant) -> None:
    with transaction.atomic():
        event_emit(merchant_id=merchant.pk, type=EventType.ORDER_CLOSED, payload={"order": "o"})


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://203.0.113.10/hook", "must use https"),
        ("https://127.0.0.1/hook", "non-public address: 127.0.0.1"),
        ("https://localhost:8443/hook", "non-public address"),
        ("https://169.254.169.254/latest/meta-data", "non-public address: 169.254.169.254"),
        ("https://10.0.0.5/hook", "non-public address: 10.0.0.5"),
        ("https://[::1]/hook", "non-public address: ::1"),
        ("https://[::ffff:127.0.0.1]/hook", "non-public address"),
    ],
)
def test_production_refuses_to_save_a_webhook_url_that_is_not_public_https(production, url, why):
    with pytest.raises(WebhookUrlRefused, match=why):
        merchant_create(name="Acme", webhook_url=url)


def test_a_name_that_does_not_resolve_yet_is_saved_but_not_sent_to(production):
    merchant_create(name="Acme", webhook_url="https://no-such-host.invalid/hook")

    with pytest.raises(WebhookUrlRefused, match="cannot be resolved"):
        webhook_target("https://no-such-host.invalid/hook")


def test_a_public_address_is_accepted_without_its_userinfo(production):
    target = webhook_target("https://user:pw@93.184.216.34:8443/hooks?x=1")

    assert target.url == "https://93.184.216.34:8443/hooks?x=1"
    assert (target.host, target.hostname) == ("93.184.216.34:8443", "93.184.216.34")


def test_a_name_is_pinned_to_the_address_it_resolved_to_and_kept_as_host():
    target = webhook_target("https://localhost:8443/hooks")  # private addresses allowed here

    assert target.url in {"https://127.0.0.1:8443/hooks", "https://[::1]:8443/hooks"}
    assert (target.host, target.hostname) == ("localhost:8443", "localhost")


def test_a_saved_url_is_checked_again_when_the_webhook_is_sent(hooked_partner, receiver, settings):
    # given a merchant whose URL was accepted when it was saved (here: under the local rule),
    # and production rules when its webhook is sent
    settings.WEBHOOK_ALLOW_HTTP = settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_RETRY_SCHEDULE = [3600]

    emit(hooked_partner.merchant)

    # then the attempt is refused at the send: nothing reaches the private address
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(attempts=1, last_error__startswith="refused").first()
    )
    assert "must use https" in delivery.last_error
    assert delivery.status == DeliveryStatus.PENDING  # retried later: the URL may be fixed
    assert receiver.received == []


def test_with_http_allowed_a_private_address_is_still_refused_at_send(
    hooked_partner, receiver, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 3600]

    emit(hooked_partner.merchant)
    wait_for(lambda: WebhookDelivery.objects.filter(attempts=1, next_attempt_at__isnull=False))
    webhook_deliver_due()

    delivery = WebhookDelivery.objects.get()
    assert "non-public address: 127.0.0.1" in delivery.last_error
    assert receiver.received == []


def test_the_local_rule_delivers_to_the_pinned_address_with_the_urls_host(hooked_partner, receiver):
    emit(hooked_partner.merchant)

    wait_for(lambda: receiver.received)
    [request] = receiver.received
    assert request.headers["Host"] == receiver.url.split("/")[2]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


@pytest.fixture
def certificate_authority(monkeypatch, tmp_path):
    """A CA the sender trusts (requests reads REQUESTS_CA_BUNDLE), as a partner's public CA."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    return authority


def tls_receiver(authority, *identities: str) -> Receiver:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*identities).configure_cert(context)
    return Receiver(tls=context).start()


def send_one_webhook_to(receiver: Receiver) -> WebhookDelivery:
    merchant = merchant_create(name="TLS partner", webhook_url=receiver.url).merchant
    emit(merchant)
    # an attempt is over once it has a status code or an error (the claim counts it earlier)
    return wait_for(
        lambda: (
            WebhookDelivery.objects.filter(attempts=1)
            .exclude(last_status_code__isnull=True, last_error="")
            .first()
        )
    )


def test_over_tls_the_pinned_address_is_verified_against_the_urls_name(certificate_authority):
    receiver = tls_receiver(certificate_authority, "localhost")
    try:
        delivery = send_one_webhook_to(receiver)
    finally:
        receiver.stop()

    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    [request] = receiver.received
    # connected to 127.0.0.1, yet the name was sent (SNI) and is the Host
    assert receiver.server_names == ["localhost"]
    assert request.headers["Host"] == f"localhost:{receiver.port}"


@pytest.mark.parametrize(
    "identity", ["127.0.0.1", "elsewhere.example"], ids=["only-the-address", "another-name"]
)
def test_over_tls_a_certificate_not_for_the_urls_name_is_refused(certificate_authority, identity):
    # a certificate for the pinned address itself proves nothing about the name in the URL
    receiver = tls_receiver(certificate_authority, identity)
    try:
        delivery = send_one_webhook_to(receiver)
    finally:
        receiver.stop()

    assert delivery.status == DeliveryStatus.PENDING
    assert "SSLError" in delivery.last_error
    assert "localhost" in delivery.last_error
    assert receiver.received == []
