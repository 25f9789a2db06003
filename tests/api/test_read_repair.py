"""Read repair through the API: a single-object read of an open order or payment asks the
channel (rate-limited per payment, across workers, within a short budget); lists never do."""

import pytest

from payments.models import PaymentCheck
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def paying(partner, sandbox):
    """An order with an open sandbox attempt whose every notification is dropped."""
    sandbox.set_faults({"notify_drop": 1})
    order = partner.create_order()
    payment = partner.post(f"/orders/{order['id']}/payments", {"channel": "sandbox"}).json()
    return order, payment


def queries_of(sandbox, payment) -> int:
    return len(sandbox.calls(operation="query", key=payment["out_trade_no"]))


def test_polling_an_order_sees_it_paid_within_the_read_repair_interval(
    partner, sandbox, paying, settings
):
    # given polling partners share one window per payment, and the buyer pays with every
    # notification dropped (and no job running: only reads can learn it)
    settings.READ_REPAIR_INTERVAL_SECONDS = 0.3
    order, payment = paying
    assert partner.get(f"/orders/{order['id']}").json()["status"] == "PAYING"
    assert sandbox.pay(payment["out_trade_no"]).status_code == 200

    # when the partner keeps reading the order
    read = wait_for(
        lambda: (
            (answer := partner.get(f"/orders/{order['id']}").json())["status"] == "PAID" and answer
        ),
        timeout=5,
        what="the order read as PAID",
    )

    # then it is paid by its attempt, learnt by the partner's reads
    assert read["paid_payment"] == payment["id"]
    assert read["payments"][0]["status"] == "SUCCEEDED"
    assert {check.actor_kind for check in PaymentCheck.objects.all()} == {"PARTNER_API"}


def test_order_and_payment_reads_share_one_rate_limit_per_payment(
    partner, sandbox, paying, settings
):
    settings.READ_REPAIR_INTERVAL_SECONDS = 3600
    order, payment = paying

    partner.get(f"/orders/{order['id']}")
    sandbox.pay(payment["out_trade_no"])
    again = [partner.get(f"/orders/{order['id']}"), partner.get(f"/payments/{payment['id']}")]

    assert queries_of(sandbox, payment) == 1
    assert [answer.json()["status"] for answer in again] == ["PAYING", "PAYING"]


def test_a_list_never_asks_a_channel(partner, sandbox, paying, settings):
    settings.READ_REPAIR_INTERVAL_SECONDS = 0.01
    _, payment = paying
    sandbox.pay(payment["out_trade_no"])

    listed = [partner.get("/orders").json()["results"] for _ in range(3)]

    assert queries_of(sandbox, payment) == 0
    assert {orders[0]["status"] for orders in listed} == {"PAYING"}


@pytest.mark.timeout(20)
def test_a_channel_that_hangs_does_not_hold_the_read_beyond_its_budget(
    partner, sandbox, paying, settings
):
    # given a channel whose queries hang 60 s, called with a 30 s timeout elsewhere
    settings.PAYMENT_CHANNELS = {
        code: {**options, "timeout": 30} for code, options in settings.PAYMENT_CHANNELS.items()
    }
    settings.READ_REPAIR_TIMEOUT_SECONDS = 0.5
    order, _ = paying
    sandbox.set_faults({"notify_drop": 1, "api_hang_rate": {"query": 1}})

    # when the partner reads the order (the test's timeout fails a read that waits 30 s)
    read = partner.get(f"/orders/{order['id']}")

    # then it is answered with what is known, and the check is recorded as unknown
    assert read.status_code == 200
    assert read.json()["status"] == "PAYING"
    (check,) = PaymentCheck.objects.all()
    assert (check.answer, check.actor_kind) == ("UNKNOWN", "PARTNER_API")


def test_an_attempt_just_made_is_not_asked_about_until_its_callback_could_have_come(
    partner, sandbox, paying, settings
):
    # given the buyer paid at once with the callback lost, and reads wait a while after the
    # channel answered the create (the suite elsewhere reads at once)
    settings.READ_REPAIR_AFTER_SECONDS = 3600
    order, payment = paying
    sandbox.pay(payment["out_trade_no"])

    # then reads of the young attempt do not ask the channel
    assert partner.get(f"/orders/{order['id']}").json()["status"] == "PAYING"
    assert queries_of(sandbox, payment) == 0

    # and once the wait is over the first read repairs it
    settings.READ_REPAIR_AFTER_SECONDS = 0
    assert partner.get(f"/orders/{order['id']}").json()["status"] == "PAID"
    assert queries_of(sandbox, payment) == 1
