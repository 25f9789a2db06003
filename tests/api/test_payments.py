"""Payments, close and refunds through the API, against the real sandbox process: every
refusal of a service is a clear 4xx/503 JSON answer, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from payments.models import Event, Payment, Refund
from payments.tasks import refunds_execute_due
from payments.webhooks.envelope import event_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(partner):
    return partner.create_order()


def start(partner, order, **body):
    return partner.post(f"/orders/{order['id']}/payments", {"channel": "sandbox"} | body)


def key(value: str) -> dict:
    return {"Idempotency-Key": value}


def pay_at_sandbox(partner, sandbox, payment) -> dict:
    """The buyer pays; the API's sync learns it (callbacks go nowhere in these tests)."""
    assert sandbox.pay(payment["out_trade_no"]).status_code == 200
    return partner.post(f"/payments/{payment['id']}/sync").json()


def test_a_payment_is_started_with_its_pay_action_and_a_double_click_reuses_it(
    partner, sandbox, order
):
    first = start(partner, order)
    again = start(partner, order, client="pc")

    assert first.status_code == again.status_code == 200
    payment = first.json()
    assert payment["id"] == again.json()["id"]
    assert (payment["status"], payment["channel"], payment["order"]) == (
        "PAYING",
        "sandbox",
        order["id"],
    )
    assert payment["action"]["type"] == "qr" and payment["action"]["qr_content"]
    assert partner.get(f"/payments/{payment['id']}").json() == payment
    assert Payment.objects.count() == 1


def test_a_mobile_client_gets_a_redirect(partner, sandbox, order):
    action = start(partner, order, client="mobile").json()["action"]

    assert action["type"] == "redirect" and action["url"].startswith("http")


@pytest.mark.parametrize(
    ("setup", "body", "status", "code"),
    [
        (None, {"channel": "bitcoin"}, 422, "unknown_channel"),
        (None, {"channel": "sandbox", "client": "tv"}, 400, "invalid_request"),
        (None, {}, 400, "invalid_request"),
        ("expire", {"channel": "sandbox"}, 409, "order_expired"),
        ("close", {"channel": "sandbox"}, 409, "order_closed"),
        ("sandbox_down", {"channel": "sandbox"}, 503, "channel_unavailable"),
    ],
)
def test_refused_payments_are_clear_answers(partner, sandbox, order, setup, body, status, code):
    if setup == "expire":
        Order.objects.update(expires_at=timezone.now() + timedelta(seconds=5))
    elif setup == "close":
        partner.post(f"/orders/{order['id']}/close")
    elif setup == "sandbox_down":
        sandbox.set_faults({"api_error_rate": {"create": 1}})

    response = partner.post(f"/orders/{order['id']}/payments", body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 503:
        assert response["Retry-After"]


def test_a_paid_order_refuses_another_payment(partner, sandbox, order):
    payment = start(partner, order).json()
    assert pay_at_sandbox(partner, sandbox, payment)["status"] == "SUCCEEDED"

    response = start(partner, order, channel="sandbox_card")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_paid"


def test_sync_applies_what_the_channel_says(partner, sandbox, order):
    payment = start(partner, order).json()
    assert partner.post(f"/payments/{payment['id']}/sync").json()["status"] == "PAYING"

    synced = pay_at_sandbox(partner, sandbox, payment)

    assert synced["status"] == "SUCCEEDED" and synced["paid_at"]
    detail = partner.get(f"/orders/{order['id']}").json()
    assert (detail["status"], detail["paid_payment"]) == ("PAID", payment["id"])
    assert [p["id"] for p in detail["payments"]] == [payment["id"]]


def test_close_closes_the_attempt_at_the_channel_first(partner, sandbox, order):
    payment = start(partner, order).json()

    response = partner.post(f"/orders/{order['id']}/close")

    assert response.status_code == 200
    assert response.json()["status"] == "CLOSED"
    assert response.json()["payments"][0]["status"] == "CLOSED"
    assert sandbox.trade(payment["out_trade_no"])["status"] == "CLOSED"


def test_close_on_a_paid_order_is_409_order_paid_and_changes_nothing(partner, sandbox, order):
    payment = start(partner, order).json()
    sandbox.pay(payment["out_trade_no"])
    partner.post(f"/payments/{payment['id']}/sync")

    response = partner.post(f"/orders/{order['id']}/close")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_paid"
    assert Order.objects.get().status == "PAID"


def test_close_that_finds_the_attempt_paid_at_the_channel_is_409_order_paid(
    partner, sandbox, order
):
    payment = start(partner, order).json()
    sandbox.pay(payment["out_trade_no"])  # its callback goes nowhere: only the close learns it

    response = partner.post(f"/orders/{order['id']}/close")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_paid"
    assert Order.objects.get().status == "PAID"


def test_close_of_a_closed_order_answers_it_again(partner, sandbox, order):
    partner.post(f"/orders/{order['id']}/close")

    again = partner.post(f"/orders/{order['id']}/close")

    assert (again.status_code, again.json()["status"]) == (200, "CLOSED")


def test_times_are_utc_with_z_whatever_the_time_zone_pages_use(partner, sandbox, order, settings):
    assert settings.TIME_ZONE != "UTC"  # people read Asia/Shanghai; the API stays UTC
    payment = start(partner, order).json()
    sandbox.pay(payment["out_trade_no"])
    partner.post(f"/payments/{payment['id']}/sync")

    detail = partner.get(f"/orders/{order['id']}").json()
    # what the feed and the webhooks send (the feed serves only events of ended transactions:
    # this test's own transaction has not ended)
    paid = event_envelope(Event.objects.get(type="order.paid"))

    assert detail["created_at"].endswith("Z") and detail["paid_at"].endswith("Z")
    assert paid["created_at"].endswith("Z")
    assert paid["data"]["order"]["paid_at"] == detail["paid_at"]


def test_close_with_an_unknown_answer_at_the_channel_is_409(partner, sandbox, order):
    start(partner, order)
    sandbox.set_faults({"api_error_rate": {"close": 1}})

    response = partner.post(f"/orders/{order['id']}/close")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_in_progress"
    assert Order.objects.get().status == "PAYING"


def test_a_paid_order_is_refunded_in_parts_never_beyond_what_was_paid(partner, sandbox, order):
    payment = start(partner, order).json()
    pay_at_sandbox(partner, sandbox, payment)
    path = f"/orders/{order['id']}/refunds"

    first = partner.post(path, {"amount": 999, "reason": "one cup broken"}, **key("r1"))
    too_much = partner.post(path, {"amount": 1001}, **key("r2"))

    assert first.status_code == 201
    refund = first.json()
    assert (refund["amount"], refund["reason"], refund["note"], refund["payment"]) == (
        999,
        "MERCHANT_REQUEST",
        "one cup broken",
        payment["id"],
    )
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "refund_exceeds_payment"
    assert partner.get(f"/refunds/{refund['id']}").json()["id"] == refund["id"]
    assert [r["id"] for r in partner.get(f"/orders/{order['id']}").json()["refunds"]] == [
        refund["id"]
    ]
    assert Refund.objects.count() == 1


def test_a_refund_executes_at_the_channel(partner, sandbox, order):
    payment = start(partner, order).json()
    pay_at_sandbox(partner, sandbox, payment)
    refund = partner.post(f"/orders/{order['id']}/refunds", {"amount": 1999}, **key("r1")).json()

    assert refunds_execute_due() == 1

    assert partner.get(f"/refunds/{refund['id']}").json()["status"] == "SUCCEEDED"
    assert partner.get(f"/orders/{order['id']}").json()["status"] == "REFUNDED"
    assert sandbox.refund(refund["out_refund_no"])["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 100}, 409, "order_not_paid"),
        ({"amount": 1.5}, 400, "invalid_request"),
        ({"amount": 0}, 400, "invalid_request"),
        ({"amount": 100, "reason": "r" * 501}, 400, "invalid_request"),
    ],
)
def test_bad_refunds_are_refused(partner, order, body, status, code):
    response = partner.post(f"/orders/{order['id']}/refunds", body, **key("bad"))

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert Refund.objects.count() == 0


def test_reading_an_open_payment_repairs_a_lost_callback(partner, sandbox, order):
    payment = start(partner, order).json()
    sandbox.pay(payment["out_trade_no"])  # its callback goes nowhere

    read = partner.get(f"/payments/{payment['id']}").json()

    assert read["status"] == "SUCCEEDED"
    assert partner.get(f"/orders/{order['id']}").json()["status"] == "PAID"
