"""The whole flow through the API only, over HTTP, against the sandbox process: its signed
callback reaches the live server, and the partner learns the result by webhook."""

import pytest
import requests

from orders.models import Merchant
from tests.api.receiver import verify_signature
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_pay_and_learn_by_webhook_that_the_order_is_paid(
    hooked_partner, receiver, sandbox, callbacks_to
):
    api = requests.Session()
    api.headers.update(hooked_partner.auth)
    base = f"{callbacks_to.url}/api/v1"

    order = api.post(
        f"{base}/orders",
        json={"merchant_order_no": "flow-1", "amount": 2500, "currency": "CNY", "subject": "Tea"},
        headers={"Idempotency-Key": "flow-1"},
    ).json()
    payment = api.post(
        f"{base}/orders/{order['id']}/payments", json={"channel": "sandbox", "client": "pc"}
    ).json()
    assert payment["action"]["type"] == "qr"

    assert sandbox.pay(payment["out_trade_no"]).status_code == 200  # the buyer pays

    [paid] = wait_for(lambda: receiver.events("order.paid"))
    assert paid["data"]["order"]["id"] == order["id"]
    assert paid["data"]["payment"]["id"] == payment["id"]
    request = next(r for r in receiver.received if r.event["type"] == "order.paid")
    secret = Merchant.objects.get(pk=hooked_partner.merchant.pk).webhook_secret
    assert verify_signature(request.headers["Paycenter-Signature"], request.body, secret)
    detail = api.get(f"{base}/orders/{order['id']}").json()
    assert (detail["status"], detail["paid_payment"]) == ("PAID", payment["id"])
    assert detail["payments"][0]["status"] == "SUCCEEDED"
    feed = api.get(f"{base}/events").json()
    assert {"order.paid", "payment.succeeded"} <= {event["type"] for event in feed["results"]}
    wait_for(lambda: len(receiver.events()) == 2)  # payment.succeeded too, before teardown
