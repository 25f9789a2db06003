"""Log redaction on real channel flows: the sandbox, WeChat Pay and Alipay (their emulators as
processes, calling back a live server) each carry an order from the partner API through a
signed create, query, the buyer's payment, the signed callback, a refund and a forged callback,
with every log line captured — and not one line holds a key, a secret, a signature or a card,
even where a careless line dumps every exchange and callback as it was on the wire.

The secrets come from where they really travel: every HTTP exchange of this process with the
channel (recorded under requests' transport), the callbacks as the inbox stored them, and the
channels' key files."""

import json
import logging
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from orders.models import Order
from payments.models import ChannelNotification, Payment, Refund
from payments.services.checks import payment_check_now
from payments.services.refunds import refund_execute
from tests.api.conftest import lines
from tests.conftest import TEST_SECRET
from tests.helpers import wait_for
from tests.paying_channels import refunds_settled

pytestmark = pytest.mark.django_db(transaction=True)

CARD = "4111 1111 1111 1111"  # a test Visa number: passes the Luhn check
# ... as the subject carries it to the channel: in JSON, and form- or URL-encoded (Alipay)
CARD_ON_THE_WIRE = {
    "card": CARD,
    "card digits": CARD.replace(" ", ""),
    "card in a form": CARD.replace(" ", "+"),
    "card in a URL": CARD.replace(" ", "%20"),
}
JOB = Actor(ActorKind.SYSTEM, "tests")
WECHAT_REQUEST_SIGNATURE = re.compile(r'signature="([^"]+)"')
PEM_BODY_LINE = re.compile(r"^[A-Za-z0-9+/=]{40,}$", re.M)


class Traffic:
    """Every request this process sends and every answer it gets, as the wire carries them."""

    def __init__(self, monkeypatch):
        self.exchanges: list[tuple[requests.PreparedRequest, requests.Response]] = []
        send = requests.adapters.HTTPAdapter.send

        def recording_send(adapter, request, *args, **kwargs):
            response = send(adapter, request, *args, **kwargs)
            self.exchanges.append((request, response))
            return response

        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", recording_send)

    def signatures(self) -> dict[str, str]:
        """Each signature the exchanges carried, named by where it was."""
        found: dict[str, str] = {}
        for number, (request, response) in enumerate(self.exchanges):
            for where, value in signatures_in(request.headers, _body(request), request.url):
                found[f"request {number} {where}"] = value
            for where, value in signatures_in(response.headers, response.content, None):
                found[f"answer {number} {where}"] = value
        return found


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body or b""
    return body.encode() if isinstance(body, str) else body


def signatures_in(headers, body: bytes, url: str | None) -> list[tuple[str, str]]:
    """WeChat's request signature (in Authorization) and answer or callback signature
    (Wechatpay-Signature), the sandbox's X-Sandbox-Signature, and Alipay's ``sign`` (in a form,
    a query string or a JSON answer)."""
    found = []
    for name, value in headers.items():
        lower = name.lower()
        if lower == "authorization":
            found += [("authorization", sig) for sig in WECHAT_REQUEST_SIGNATURE.findall(value)]
        elif lower in ("wechatpay-signature", "x-sandbox-signature"):
            found.append((lower, value))
    fields = dict(parse_qsl(urlsplit(url).query)) if url else {}
    text = body.decode("utf-8", "replace")
    fields |= dict(parse_qsl(text))
    if text.startswith("{"):
        fields |= {k: v for k, v in json.loads(text).items() if isinstance(v, str)}
    if fields.get("sign"):
        found.append(("sign", fields["sign"]))
    return found


def stored_callback_signatures() -> dict[str, str]:
    found = {}
    for notification in ChannelNotification.objects.order_by("pk"):
        body = bytes(notification.body)
        for where, value in signatures_in(notification.headers, body, None):
            found[f"callback {notification.pk} {where}"] = value
    return found


def key_material(process) -> dict[str, str]:
    """The private keys' PEM lines and WeChat's API v3 key, from the emulator's key files."""
    manifest = json.loads((process.data_dir / "keys" / "manifest.json").read_text())
    found = {}
    for name, path in manifest.items():
        if not (isinstance(path, str) and name.endswith("private_key_file")):
            continue
        for number, line in enumerate(PEM_BODY_LINE.findall(Path(path).read_text())):
            found[f"{name} line {number}"] = line
    if "apiv3_key_file" in manifest:
        found["apiv3 key"] = Path(manifest["apiv3_key_file"]).read_text().strip()
    return found


def forge(notification: ChannelNotification) -> tuple[dict, bytes]:
    """The genuine callback's signature headers and content type over a body changed after
    signing."""
    headers = {
        name: value
        for name, value in notification.headers.items()
        if name.lower().startswith(("wechatpay-", "x-sandbox-"))
    }
    return headers, bytes(notification.body).replace(b"SUCCESS", b"SUCCES5")


def test_a_real_channel_flow_logs_no_key_secret_signature_or_card(
    partner, paying_channel, callbacks_to, log_output, monkeypatch
):
    traffic = Traffic(monkeypatch)
    channel = paying_channel.code
    # given an order (a card number in its subject) and its payment started on the channel
    order = partner.create_order(subject=f"Tea, card {CARD}")
    started = partner.post(f"/orders/{order['id']}/payments", {"channel": channel, "client": "pc"})
    assert started.status_code == 200, started.content
    payment = Payment.objects.get(pk=started.json()["id"])
    # when it is queried while open, the buyer scans and pays, and the channel calls back
    payment_check_now(payment_id=payment.pk, actor=JOB)
    paying_channel.scan(payment)
    assert paying_channel.pay(payment).status_code == 200
    wait_for(lambda: Order.objects.get(pk=order["id"]).status == OrderStatus.PAID, what="paid")
    # and the partner refunds part of it, which the channel carries out
    refund = partner.post(
        f"/orders/{order['id']}/refunds", {"amount": 100}, **{"Idempotency-Key": "r-1"}
    )
    assert refund.status_code == 201, refund.content
    refund_execute(refund_id=refund.json()["id"], actor=JOB)
    wait_for(lambda: refunds_settled(Refund.objects.all()), what="refund settled")
    # and someone replays the genuine callback with its body changed
    genuine = ChannelNotification.objects.order_by("pk").first()
    headers, forged_body = forge(genuine)
    content_type = {name.lower(): value for name, value in genuine.headers.items()}
    Client().post(
        f"/callbacks/{channel}/",
        data=forged_body,
        content_type=content_type.get("content-type", "application/json"),
        headers=headers,
    )

    # and a careless line dumps what went over the wire
    dump_everything(traffic)

    # then the log tells the story, with its context …
    written = lines(log_output)
    assert any(line.get("channel") == channel for line in written)
    assert any(line.get("out_trade_no") == payment.out_trade_no for line in written)
    assert ChannelNotification.objects.filter(signature_valid=False).exists()
    # … and none of the secrets that went by
    signatures = traffic.signatures() | stored_callback_signatures()
    assert any(where.startswith("callback") for where in signatures)
    if channel != "sandbox":  # WeChat Pay and Alipay sign each call and each answer too
        assert {where.split()[0] for where in signatures} == {"request", "answer", "callback"}
    secrets = (
        signatures
        | key_material_of(paying_channel)
        | {"api key": partner.api_key, "sandbox secret": TEST_SECRET}
        | CARD_ON_THE_WIRE
    )
    text = log_output.getvalue()
    assert [where for where, secret in secrets.items() if secret in text] == []


def dump_everything(traffic: Traffic) -> None:
    """What a developer chasing a bug might log: each exchange in a message, each stored
    callback as structured fields."""
    careless = logging.getLogger("payments.channels.wire")
    for request, response in traffic.exchanges:
        body = _body(request).decode("utf-8", "replace")
        careless.debug("sent %s %s %s %s", request.method, request.url, request.headers, body)
        careless.debug("answered %s %s %s", response.status_code, response.headers, response.text)
    for notification in ChannelNotification.objects.order_by("pk"):
        careless.debug(
            "callback",
            extra={
                "callback_headers": notification.headers,
                "callback_body": bytes(notification.body).decode("utf-8", "replace"),
            },
        )


def key_material_of(paying_channel) -> dict[str, str]:
    server = paying_channel.server
    return key_material(server) if (server.data_dir / "keys").exists() else {}
