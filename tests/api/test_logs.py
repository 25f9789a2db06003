"""Structured logs: one JSON line per event with its context, a request id that API callers see
and the jobs they cause carry, and never a key, secret, signature or card number."""

import json
import logging

import pytest
from django.test import Client
from django_q.conf import Conf
from django_q.models import OrmQ
from rest_framework.test import APIClient
from structlog.contextvars import bound_contextvars, get_contextvars

from config.logs import _luhn_valid
from orders.models import Merchant
from payments.models import Payment
from payments.queue import bind_task_context, enqueue
from tests.api.conftest import lines
from tests.conftest import TEST_SECRET
from tests.helpers import signed_notification, wait_for

CARD = "4111 1111 1111 1111"  # a test Visa number: passes the Luhn check
CARD_DIGITS = CARD.replace(" ", "")
WRONG_KEY = "pk_someone_elses_key_guessed"


def pay_by_callback(partner, order_id: str) -> tuple[Payment, dict]:
    response = partner.post(f"/orders/{order_id}/payments", {"channel": "sandbox", "client": "pc"})
    assert response.status_code == 200, response.content
    payment = Payment.objects.get(pk=response.json()["id"])
    headers, body = signed_notification(payment, TEST_SECRET)
    answer = Client().post(
        "/callbacks/sandbox/", data=body, content_type="application/json", headers=headers
    )
    assert answer.status_code == 200, answer.content
    headers["Request-Id"] = answer["Request-Id"]
    return payment, headers


def test_a_paid_flow_logs_no_key_secret_signature_or_card(
    hooked_partner, receiver, sandbox, log_output
):
    # given a partner with an API key and a webhook secret
    # when it orders (a card number in the subject), is refused, fails a key, pays by a signed
    # callback (and a badly signed one), and receives the signed webhook
    order = hooked_partner.create_order(subject=f"Tea, card {CARD}")
    hooked_partner.post("/orders", {"merchant_order_no": CARD_DIGITS, "amount": CARD_DIGITS})
    APIClient().get("/api/v1/orders", headers={"Authorization": f"Bearer {WRONG_KEY}"})
    payment, callback_headers = pay_by_callback(hooked_partner, order["id"])
    forged, body = signed_notification(payment, "not-the-secret")
    Client().post("/callbacks/sandbox/", data=body, content_type="application/json", headers=forged)
    wait_for(lambda: any('"webhook attempt' in line for line in log_output.getvalue().split("\n")))
    webhook_signature = receiver.received[0].headers["Paycenter-Signature"].split("v1=")[1]

    # then the log has the events, with their context …
    written = lines(log_output)
    assert {line["event"] for line in written} >= {"request"}
    assert any(line.get("merchant") == hooked_partner.merchant.pk for line in written)
    assert any(line.get("channel") == "sandbox" for line in written)
    assert any(line.get("out_trade_no") == payment.out_trade_no for line in written)
    # the webhook the callback caused is sent on another thread, in the callback's context
    attempts = [line for line in written if line["event"].startswith("webhook attempt")]
    assert attempts
    assert {line["request_id"] for line in attempts} == {callback_headers["Request-Id"]}
    # … and not one secret
    text = log_output.getvalue()
    secrets = {
        "api key": hooked_partner.api_key,
        "webhook secret": Merchant.objects.get(pk=hooked_partner.merchant.pk).webhook_secret,
        "channel secret": TEST_SECRET,
        "callback signature": callback_headers["X-Sandbox-Signature"],
        "forged signature": forged["X-Sandbox-Signature"],
        "webhook signature": webhook_signature,
        "card": CARD,
        "card digits": CARD_DIGITS,
        "a wrong key": WRONG_KEY,
    }
    assert [name for name, secret in secrets.items() if secret in text] == []


@pytest.mark.parametrize(
    "message, args, extra",
    [
        ("headers: %s", ({"Authorization": "Bearer pk_live_secretsecret"},), {}),
        ("calling with %s", ("Authorization: Bearer pk_live_secretsecret",), {}),
        ("key %s", ("pk_live_secretsecret",), {}),
        ("secret %s", ("whsec_secretsecretsecret",), {}),
        ("header Paycenter-Signature: t=1,v1=%s", ("ab12" * 16,), {}),
        ("alipay answered sign=%s&x=1", ("c2lnbmF0dXJl" * 30,), {}),
        ("wechatpay %s", ("Wechatpay-Signature: " + "QUJD" * 90,), {}),
        ("the customer typed %s", (CARD,), {}),
        ("the customer typed %s", ("4111-1111-1111-1111",), {}),
        # as a form or a URL carries it (Alipay's biz_content, a query string)
        ("biz_content=%s", ("Tea%2C+card+4111+1111+1111+1111",), {}),
        ("GET /gateway.do?subject=%s", ("Tea%2C%20card%204111%201111%201111%201111",), {}),
        ("GET /gateway.do?subject=%s", ("Tea%2C4111111111111111",), {}),
        ("call", (), {"api_key": "anything", "sign": "c2ln" * 20}),
        ("call", (), {"request_headers": {"X-Sandbox-Signature": "abc", "Cookie": "s=1"}}),
    ],
)
def test_a_careless_log_line_is_masked_before_it_is_written(log_output, message, args, extra):
    logging.getLogger("payments.anywhere").warning(message, *args, extra=extra)

    [line] = lines(log_output)
    text = json.dumps(line)
    for leaked in (
        "secretsecret",
        "ab12ab12",
        "c2lnbmF0dXJl",
        "c2lnc2ln",
        "QUJDQUJD",
        "1111",
        '"abc"',
        "s=1",
        "anything",
    ):
        assert leaked not in text
    assert "[redacted]" in text or "[card]" in text


def test_a_long_file_path_in_a_traceback_is_kept(log_output):
    path = "/srv/paycenter/site-packages/django/contrib/admin/templatetags/admin_modify/base"
    logging.getLogger("payments.anywhere").info("in %s", path)

    assert path in lines(log_output)[0]["event"]


def test_an_id_that_only_looks_numeric_is_kept(log_output):
    # 16 digits failing the Luhn check (an order number, a timestamp) are not a card
    logging.getLogger("payments.anywhere").info("merchant order no 4111111111111112")

    assert "4111111111111112" in lines(log_output)[0]["event"]


def _luhn_completed(digits: str) -> str:
    """``digits`` and the check digit that makes them pass the Luhn check."""
    return next(digits + d for d in "0123456789" if _luhn_valid(digits + d))


@pytest.mark.parametrize(
    "identifier",
    [
        # a channel number: a date and random hex, its digits a Luhn-valid run (about 1 in 100
        # of them: the run after the date is five digits or more a tenth of the time)
        "P" + _luhn_completed("2026120212345") + "b5c74d8fa4c6558",
        # a public id whose hex begins, or ends, with such a run
        "pay_" + _luhn_completed("411111111111111") + "ab12cd34",
        "pay_ab12cd34" + _luhn_completed("411111111111111"),
    ],
)
def test_an_identifier_with_a_card_like_run_of_digits_is_kept(log_output, identifier):
    # a card number stands on its own; digits inside an id are the id's, which must stay
    # searchable in the logs
    logging.getLogger("payments.anywhere").info(
        "channel result applied: out_trade_no=%s", identifier
    )

    assert identifier in lines(log_output)[0]["event"]


def test_every_answer_carries_a_request_id_and_an_error_body_repeats_it(partner, log_output):
    ok = partner.get("/orders")
    refused = partner.post("/orders", {"amount": "x"})
    unknown = partner.get("/no-such-endpoint")

    ids = [answer["Request-Id"] for answer in (ok, refused, unknown)]
    assert len(set(ids)) == 3 and all(i.startswith("req_") for i in ids)
    assert refused.json()["error"]["request_id"] == refused["Request-Id"]
    assert refused.json()["error"]["code"] == "invalid_request"  # the documented shape stays
    assert unknown.json()["error"]["request_id"] == unknown["Request-Id"]
    # the request's own log lines carry it
    requests = [line for line in lines(log_output) if line["event"] == "request"]
    assert [line["request_id"] for line in requests] == ids
    assert [line["status"] for line in requests] == [200, 400, 404]


def test_a_refund_request_hands_its_request_id_to_the_refund_job(hooked_partner, sandbox):
    partner = hooked_partner  # on_commit runs: the job is queued after the refund commits
    order = partner.create_order()
    pay_by_callback(partner, order["id"])
    OrmQ.objects.all().delete()

    answer = partner.post(
        f"/orders/{order['id']}/refunds", {"amount": 100}, **{"Idempotency-Key": "r-1"}
    )

    assert answer.status_code == 201, answer.content
    [queued] = OrmQ.objects.all()
    task = queued.task
    assert task["func"] == "payments.tasks.refund_execute"
    assert task["kwargs"]["log_context"] == {"request_id": answer["Request-Id"]}


seen_contexts: list[dict] = []


def remember_context(value: str) -> str:
    seen_contexts.append(get_contextvars())
    return value


def test_a_job_runs_with_the_request_id_of_the_request_that_caused_it(db, monkeypatch):
    # the worker's own path (django-q2's worker, in this process)
    monkeypatch.setattr(Conf, "SYNC", True)
    seen_contexts.clear()
    with bound_contextvars(request_id="req_caller", merchant="mch_not_carried"):
        enqueue("tests.api.test_logs.remember_context", "x")

    [context] = seen_contexts
    assert context["request_id"] == "req_caller"
    assert context["task"] == "remember_context"


def test_a_worker_starts_each_task_with_only_what_the_task_carries():
    # given what the worker's previous task had bound
    with bound_contextvars(request_id="req_previous", payment="pay_previous"):
        task = {"id": "t1", "group": "refund_execute", "func": "payments.tasks.refund_execute"}
        task["kwargs"] = {"log_context": {"request_id": "req_cause"}}
        # when django-q2 signals the next task
        bind_task_context(sender="django_q", func=None, task=task)
        context = get_contextvars()

    # then only the next task's own context is bound, and its function gets its own arguments
    assert context == {"request_id": "req_cause", "task": "refund_execute", "task_id": "t1"}
    assert task["kwargs"] == {}


def test_a_back_office_request_names_the_staff_member_acting(admin_client, log_output):
    admin_client.get("/admin/")

    [request] = [line for line in lines(log_output) if line["event"] == "request"]
    assert request["actor"] == "ADMIN:admin"
    assert request["status"] == 200
