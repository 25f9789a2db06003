"""A channel answer of the wrong shape is UNKNOWN, never an exception; an answer about another
trade than the one asked for is UNKNOWN too.

The channel here is a real HTTP server in the test (not the sandbox process): it answers every
request with whatever body the test sets, registered as the `sandbox` channel's base_url.
"""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from orders.audit import Actor
from orders.enums import ActorKind, OrderStatus
from payments.enums import PaymentStatus
from payments.models import Payment, PaymentCheck
from payments.services.attempts import CloseOutcome, PaymentRefused, payment_close_attempt
from payments.services.attempts import payment_start as start
from payments.services.checks import payment_check_now
from payments.services.scheduler import payments_check_due
from tests.factories import make_order

pytestmark = pytest.mark.django_db

ACTOR = Actor(ActorKind.QUERY_JOB, "test")


class ScriptedChannel:
    """An HTTP server answering every request with ``body`` (bytes) and ``status``."""

    def __init__(self):
        self.body, self.status, self.content_type = b"{}", 200, "application/json"
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(channel.status)
                self.send_header("Content-Type", channel.content_type)
                self.send_header("Content-Length", str(len(channel.body)))
                self.end_headers()
                self.wfile.write(channel.body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def answer(self, data, *, raw: bool = False) -> None:
        self.body = data if raw else json.dumps(data).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted(settings):
    channel = ScriptedChannel()
    settings.PAYMENT_CHANNELS = {
        "sandbox": {
            "class": "payments.channels.sandbox.SandboxChannel",
            "label": "scripted",
            "base_url": channel.url,
            "secret": "unused",
            "timeout": 2,
        }
    }
    yield channel
    channel.close()


def paying(merchant) -> Payment:
    order = make_order(merchant)
    order.status = OrderStatus.PAYING
    order.save()
    return Payment.objects.create(
        order=order,
        channel="sandbox",
        amount=order.amount,
        currency="CNY",
        status=PaymentStatus.PAYING,
        pay_action={"type": "qr", "qr_content": "x"},
    )


def success(payment: Payment, **overrides) -> dict:
    answer = {
        "out_trade_no": payment.out_trade_no,
        "trade_no": f"T{payment.out_trade_no}",
        "status": "SUCCESS",
        "amount": payment.amount,
        "currency": payment.currency,
        "paid_at": "2026-11-21T10:00:00+00:00",
        "channel": payment.channel,
    }
    return {**answer, **overrides}


WRONG_TRADE_ANSWERS = {
    "not-json": lambda p: b"<html>bad gateway</html>",
    "array": lambda p: b"[]",
    "string": lambda p: b'"SUCCESS"',
    "empty-object": lambda p: b"{}",
    "status-only": lambda p: json.dumps({"status": "SUCCESS"}).encode(),
    "amount-as-string": lambda p: json.dumps(success(p, amount="1000")).encode(),
    "amount-float": lambda p: json.dumps(success(p, amount=1000.0)).encode(),
    "status-a-list": lambda p: json.dumps(success(p, status=["SUCCESS"])).encode(),
    "unknown-status": lambda p: json.dumps(success(p, status="REFUNDING")).encode(),
    "paid-at-a-number": lambda p: json.dumps(success(p, paid_at=5)).encode(),
    "paid-at-garbage": lambda p: json.dumps(success(p, paid_at="yesterday")).encode(),
    "paid-at-naive": lambda p: json.dumps(success(p, paid_at="2026-11-21T10:00:00")).encode(),
    "amount-huge": lambda p: json.dumps(success(p, amount=10**30)).encode(),
    "amount-negative": lambda p: json.dumps(success(p, amount=-1000)).encode(),
    "trade-no-nul": lambda p: json.dumps(success(p, trade_no="T\x00")).encode(),
    "out-trade-no-nul": lambda p: json.dumps(success(p, out_trade_no="P\x00")).encode(),
    "out-trade-no-int": lambda p: json.dumps(success(p, out_trade_no=7)).encode(),
}


def assert_unchanged(payment: Payment) -> None:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING
    assert not payment.transactions.exists()
    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.PAYING


@pytest.mark.parametrize("answer", WRONG_TRADE_ANSWERS.values(), ids=WRONG_TRADE_ANSWERS.keys())
def test_a_query_answer_of_the_wrong_shape_is_unknown(merchant, scripted, answer):
    payment = paying(merchant)
    scripted.answer(answer(payment), raw=True)

    payment_check_now(payment_id=payment.pk, actor=ACTOR)

    assert_unchanged(payment)
    assert PaymentCheck.objects.get(payment=payment).answer == "UNKNOWN"


@pytest.mark.parametrize("answer", WRONG_TRADE_ANSWERS.values(), ids=WRONG_TRADE_ANSWERS.keys())
def test_a_close_answer_of_the_wrong_shape_is_unknown(merchant, scripted, answer):
    payment = paying(merchant)
    scripted.answer(answer(payment), raw=True)

    assert payment_close_attempt(payment_id=payment.pk, actor=ACTOR) == CloseOutcome.UNKNOWN

    assert_unchanged(payment)


WRONG_CREATE_ANSWERS = {
    "not-json": b"oops",
    "array": b"[1, 2]",
    "empty-object": b"{}",
    "no-qr-content": json.dumps({"trade_no": "T1", "pay_url": "http://x"}).encode(),
    "trade-no-a-dict": json.dumps({"trade_no": {}, "qr_content": "x", "pay_url": "u"}).encode(),
}


@pytest.mark.parametrize("body", WRONG_CREATE_ANSWERS.values(), ids=WRONG_CREATE_ANSWERS.keys())
def test_a_create_answer_of_the_wrong_shape_is_channel_unavailable(merchant, scripted, body):
    order = make_order(merchant)
    scripted.answer(body, raw=True)

    with pytest.raises(PaymentRefused) as refused:
        start(order_id=order.pk, channel="sandbox", client="pc", actor=ACTOR)

    assert refused.value.code == "channel_unavailable"
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.UNPAID  # unknown: the trade may exist, kept open


def test_the_checkout_page_shows_a_wrong_shaped_create_answer_as_a_message(
    client, merchant, scripted
):
    order = make_order(merchant)
    scripted.answer(b"[]", raw=True)

    response = client.post(f"/checkout/{order.pk}/pay/", {"channel": "sandbox", "client": "pc"})

    assert response.status_code == 302
    page = client.get(response.url)
    assert page.status_code == 200
    assert "did not answer" in page.text


def test_the_payment_checks_carry_on_past_wrong_shaped_answers(merchant, scripted):
    payments = [paying(merchant) for _ in range(3)]
    Payment.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
    scripted.answer(b'{"status": "SUCCESS"}', raw=True)

    assert payments_check_due(now=timezone.now(), batch=10) == 3

    for payment in payments:
        assert_unchanged(payment)


def test_a_query_answer_about_another_trade_is_not_applied_to_it(merchant, scripted):
    asked, other = paying(merchant), paying(merchant)
    scripted.answer(success(other))  # the channel echoes another out_trade_no

    payment_check_now(payment_id=asked.pk, actor=ACTOR)

    assert_unchanged(asked)
    assert_unchanged(other)
    assert PaymentCheck.objects.get(payment=asked).answer == "UNKNOWN"


def test_a_close_answer_about_another_trade_closes_nothing(merchant, scripted):
    asked, other = paying(merchant), paying(merchant)
    scripted.answer({**success(other), "status": "CLOSED"})

    assert payment_close_attempt(payment_id=asked.pk, actor=ACTOR) == CloseOutcome.UNKNOWN

    assert_unchanged(asked)
    assert_unchanged(other)


def test_a_refusal_with_a_nul_byte_in_its_message_is_recorded(merchant, scripted):
    payment = paying(merchant)
    scripted.status = 400
    scripted.answer({"error": {"code": "BAD\x00", "message": "no\x00pe"}})

    payment_check_now(payment_id=payment.pk, actor=ACTOR)

    assert_unchanged(payment)
    query = PaymentCheck.objects.get(payment=payment)
    assert (query.answer, query.error) == ("UNKNOWN", "BAD\\x00: no\\x00pe")


@pytest.mark.parametrize(
    "extra",
    [{"note": "a\x00b"}, {"rate": float("nan")}, {"x\x00": [float("inf"), {"y": "\x00"}]}],
    ids=["nul", "nan", "nested"],
)
def test_a_success_with_odd_extra_fields_is_applied_and_kept(merchant, scripted, extra):
    payment = paying(merchant)
    scripted.answer(success(payment, **extra))

    payment_check_now(payment_id=payment.pk, actor=ACTOR)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.transactions.get().raw["out_trade_no"] == payment.out_trade_no
