"""The services that call adapters, through interface v2: references kept and handed back,
notification kinds each through its own service, verification that must wait, typed values."""

import pytest
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind
from payments.channels.base import (
    PayAction,
    PayActionType,
    RefundRef,
    RejectReason,
    TradeRef,
)
from payments.enums import NotificationOutcome, PaymentStatus, RefundStatus
from payments.models import ChannelNotification, Refund
from payments.services.attempts import payment_close_attempt
from payments.services.notifications import notifications_reprocess_stale
from payments.services.refunds import refund_execute
from tests.channels import SandboxWithRefs
from tests.conftest import TEST_SECRET
from tests.factories import make_order, paid_payment, refund_of, start_payment
from tests.helpers import signed_notification

pytestmark = pytest.mark.django_db

ACTOR = Actor(ActorKind.PARTNER_API, "tests")


def channel_class(settings, dotted: str, code: str = "sandbox") -> None:
    channels = {name: dict(options) for name, options in settings.PAYMENT_CHANNELS.items()}
    channels[code]["class"] = dotted
    settings.PAYMENT_CHANNELS = channels  # a new dict: the adapter registry is rebuilt


def post(client, body: bytes, headers: dict):
    return client.post(
        "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
    )


def test_references_from_create_and_refund_are_kept_and_handed_back(merchant, sandbox, settings):
    channel_class(settings, "tests.channels.SandboxWithRefs")
    SandboxWithRefs.handed.clear()
    payment = paid_payment(merchant, sandbox)
    assert payment.channel_refs == {"session": f"cs_{payment.out_trade_no}"}
    trade = TradeRef(payment.out_trade_no, payment.channel_trade_no, payment.channel_refs)
    assert SandboxWithRefs.handed == [trade]  # the query

    refund = refund_of(payment, 400)
    refund_execute(refund_id=refund.pk, actor=ACTOR)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.channel_refs == {"refund_id": f"re_{refund.out_refund_no}"}
    assert SandboxWithRefs.handed[-1] == trade  # the refund request's trade

    other = start_payment(make_order(merchant))
    payment_close_attempt(payment_id=other.pk, actor=ACTOR)
    assert SandboxWithRefs.handed[-1] == TradeRef(
        other.out_trade_no, other.channel_trade_no, {"session": f"cs_{other.out_trade_no}"}
    )
    assert refund.refund_ref == RefundRef(
        refund.out_refund_no,
        trade=trade,
        channel_refund_no=refund.channel_refund_no,
        refs={"refund_id": f"re_{refund.out_refund_no}"},
    )


def test_a_refund_asked_again_is_asked_with_its_kept_reference(merchant, sandbox, settings):
    channel_class(settings, "tests.channels.SandboxWithRefs")
    payment = paid_payment(merchant, sandbox)
    refund = refund_of(payment, 1000)
    sandbox.set_faults({"refund_async": True, "refund_async_ms": 60_000})
    refund_execute(refund_id=refund.pk, actor=ACTOR)  # PROCESSING: asked again later
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=timezone.now())
    SandboxWithRefs.handed.clear()

    refund_execute(refund_id=refund.pk, actor=ACTOR)

    assert SandboxWithRefs.handed == [refund.refund_ref]
    assert SandboxWithRefs.handed[0].refs == {"refund_id": f"re_{refund.out_refund_no}"}


def test_a_refund_answer_about_another_refund_is_not_applied(merchant, sandbox, settings):
    payment = paid_payment(merchant, sandbox)
    channel_class(settings, "tests.channels.SandboxAnsweringAboutAnotherRefund")
    refund = refund_of(payment, 1000)

    refund_execute(refund_id=refund.pk, actor=ACTOR)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING  # unknown: asked again later
    assert "another refund" in refund.last_error


def test_a_callback_that_cannot_be_verified_now_is_kept_for_a_retry(
    client, merchant, sandbox, settings
):
    settings.NOTIFICATION_RETRY_SCHEDULE = [30]
    settings.NOTIFICATION_REPROCESS_AFTER_SECONDS = 0
    payment = start_payment(make_order(merchant))
    sandbox.pay(payment.out_trade_no)
    channel_class(settings, "tests.channels.SandboxUnverifiableNow")
    headers, body = signed_notification(payment, TEST_SECRET)

    response = post(client, body, headers)

    assert response.status_code == 503
    row = ChannelNotification.objects.get()
    assert (row.outcome, row.attempts) == (NotificationOutcome.RECEIVED, 1)
    assert "certificate" in row.last_error
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING
    # the channel is back: the inbox job verifies and applies the kept row
    channel_class(settings, "payments.channels.sandbox.SandboxChannel")
    ChannelNotification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert notifications_reprocess_stale(now=timezone.now(), batch=10) == 1
    row.refresh_from_db()
    payment.refresh_from_db()
    assert (row.outcome, payment.status) == (NotificationOutcome.APPLIED, PaymentStatus.SUCCEEDED)


def test_an_event_we_do_not_act_on_is_acknowledged_and_changes_nothing(client, merchant, sandbox):
    payment = start_payment(make_order(merchant))
    headers, body = signed_notification(payment, TEST_SECRET, type="dispute", nonce="n-ignored")

    response = post(client, body, headers)

    assert (response.status_code, response.content) == (200, b"success")
    row = ChannelNotification.objects.get()
    assert (row.outcome, row.signature_valid) == (NotificationOutcome.UNCHANGED, True)
    assert row.out_trade_no == payment.out_trade_no
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING
    # still signed, fresh and used once, like every notification
    assert post(client, body, headers).json()["error"]["code"] == RejectReason.REPLAYED


def test_rejection_reasons_keep_the_values_stored_on_inbox_rows():
    assert {reason.value for reason in RejectReason} == {
        "missing_signature",
        "bad_signature",
        "malformed",
        "wrong_channel",
        "stale",
        "replayed",
        "unknown_trade",
        "unknown_refund",
        "amount_mismatch",
        "unknown_channel",
        "too_large",
    }
    assert [r for r in RejectReason if not r.signature_checked] == [
        RejectReason.MISSING_SIGNATURE,
        RejectReason.BAD_SIGNATURE,
    ]


def test_each_pay_action_kind_keeps_what_its_page_needs():
    qr = PayAction(PayActionType.QR, channel_trade_no="T1", qr_content="weixin://x", url="")
    assert qr.as_dict() == {"type": "qr", "qr_content": "weixin://x"}
    redirect = PayAction(PayActionType.REDIRECT, url="https://pay.example/x")
    assert redirect.as_dict() == {"type": "redirect", "url": "https://pay.example/x"}
    form = PayAction(
        PayActionType.FORM,
        url="https://gateway.example/pay",
        form_method="POST",
        form_fields={"orderId": "P1", "signature": "abc"},
    )
    assert form.as_dict() == {
        "type": "form",
        "url": "https://gateway.example/pay",
        "method": "POST",
        "fields": {"orderId": "P1", "signature": "abc"},
    }
    sdk = PayAction(PayActionType.CLIENT, client_params={"client_secret": "pi_1_secret"})
    assert sdk.as_dict() == {"type": "client", "params": {"client_secret": "pi_1_secret"}}
