"""Fuzz: random headers and bodies at every callback URL never answer 500, are all stored, and a
later valid callback is still applied, by its request and by the inbox job.

Some bodies are signed with the channel's real secret (the signature is a header like any
other), so the fuzz also reaches what comes after the signature check.
"""

import json
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from orders.enums import OrderStatus
from payments.enums import NotificationOutcome, PaymentStatus
from payments.models import ChannelNotification, Payment
from payments.services.notifications import notification_receive, notifications_reprocess_stale
from tests.factories import make_order
from tests.helpers import signature_headers, signed_notification

pytestmark = pytest.mark.django_db

REJECTIONS = {
    "unknown_channel",
    "missing_signature",
    "bad_signature",
    "malformed",
    "wrong_channel",
    "stale",
    "replayed",
    "unknown_trade",
}
SIGNATURE_HEADERS = ("X-Sandbox-Timestamp", "X-Sandbox-Nonce", "X-Sandbox-Signature")

header_names = st.one_of(
    st.sampled_from(SIGNATURE_HEADERS),
    # duplicate-ish: the same header again in another spelling
    st.sampled_from(SIGNATURE_HEADERS).map(str.lower),
    st.sampled_from(SIGNATURE_HEADERS).map(lambda name: name.replace("-", "_")),
    st.text(st.characters(codec="ascii", categories=["L", "N"]) | st.just("-"), min_size=1),
    st.text(min_size=1, max_size=20),  # non-ASCII names too
)
header_values = st.one_of(
    st.text(max_size=80),  # any unicode, NUL included
    st.text(st.characters(codec="latin-1"), max_size=80),
    st.text(alphabet="ab\x00é", min_size=4_000, max_size=20_000),  # huge
    st.integers().map(str),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
field_values = st.one_of(
    json_values, st.integers(), st.text(max_size=40), st.sampled_from(["SUCCESS", "WAITING"])
)


@st.composite
def notification_shaped(draw, channel: str) -> dict:
    """A body that looks like a notification for ``channel``: now and then a field is missing
    or of the wrong type."""

    def field(good):
        return draw(field_values) if draw(st.integers(0, 4)) == 0 else draw(good)

    body = {
        "channel": field(st.just(channel)),
        "out_trade_no": field(st.text(max_size=70)),
        "status": field(st.sampled_from(["SUCCESS", "WAITING", "CLOSED", "REFUNDED"])),
        "amount": field(st.integers(min_value=-(10**30), max_value=10**30)),
        "currency": field(st.sampled_from(["CNY", "USD", "cny", ""])),
        "trade_no": field(st.text(max_size=70)),
        "paid_at": field(st.just("2026-11-21T10:00:00+00:00")),
    }
    dropped = draw(st.sets(st.sampled_from(sorted(body)), max_size=2))
    return {name: value for name, value in body.items() if name not in dropped}


@st.composite
def callbacks(draw) -> tuple[str, dict, bytes, str]:
    channels = django_settings.PAYMENT_CHANNELS
    channel = draw(st.sampled_from([*sorted(channels), "nosuch-channel"]))
    body = draw(
        st.one_of(
            st.binary(max_size=3_000),
            json_values.map(lambda value: json.dumps(value).encode()),
            notification_shaped(channel).map(lambda value: json.dumps(value).encode()),
            notification_shaped(channel).map(lambda value: json.dumps(value).encode()),
        )
    )
    headers = draw(st.dictionaries(header_names, header_values, max_size=6))
    if channel in channels and draw(st.integers(0, 2)):
        # signed with the channel's real secret: the fuzz reaches past the signature check
        fresh = str(int(time.time()))
        any_time = st.integers(min_value=-(10**20), max_value=10**20).map(str) | st.text()
        headers.update(
            signature_headers(
                channels[channel]["secret"],
                body,
                timestamp=draw(
                    st.sampled_from([fresh, fresh, str(int(time.time()) - 400)]) | any_time
                ),
                nonce=draw(st.text(min_size=1, max_size=40)),
            )
        )
    content_type = draw(st.sampled_from(["application/json", "text/plain", "", "x/é"]))
    return channel, headers, body, content_type


def paying(merchant, channel: str) -> Payment:
    order = make_order(merchant)
    order.status = OrderStatus.PAYING
    order.save()
    return Payment.objects.create(
        order=order, channel=channel, amount=order.amount, currency="CNY", status="PAYING"
    )


def post(client: Client, channel: str, headers: dict, body: bytes, content_type: str):
    return client.post(
        f"/callbacks/{channel}/", data=body, content_type=content_type, headers=headers
    )


def test_hostile_callbacks_never_500_are_all_stored_and_valid_ones_still_apply(merchant, settings):
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    # the fuzz is about what a callback holds; slowing down bad signatures has its own tests
    settings.AUTH_FAILURE_LIMIT = 10**9
    # the channels signed with the sandbox's shared secret, which this fuzz signs with
    settings.PAYMENT_CHANNELS = {
        code: options for code, options in settings.PAYMENT_CHANNELS.items() if "secret" in options
    }
    client = Client(raise_request_exception=False)

    @given(callbacks())
    @hypothesis_settings(
        max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    def fuzz(callback):
        stored_before = ChannelNotification.objects.count()
        response = post(client, *callback)
        assert response.status_code == 400, (response.status_code, response.content)
        assert response.json()["error"]["code"] in REJECTIONS
        assert ChannelNotification.objects.count() == stored_before + 1

    fuzz()

    assert not ChannelNotification.objects.filter(outcome=NotificationOutcome.RECEIVED).exists()
    for channel in sorted(settings.PAYMENT_CHANNELS):
        secret = settings.PAYMENT_CHANNELS[channel]["secret"]
        by_request, by_job = paying(merchant, channel), paying(merchant, channel)
        headers, body = signed_notification(by_request, secret)
        assert post(client, channel, headers, body, "application/json").status_code == 200
        headers, body = signed_notification(by_job, secret)
        notification_receive(channel=channel, headers=headers, body=body, peer="127.0.0.1")

        notifications_reprocess_stale(now=timezone.now(), batch=100)

        for payment in (by_request, by_job):
            payment.refresh_from_db()
            assert payment.status == PaymentStatus.SUCCEEDED
