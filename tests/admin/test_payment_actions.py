"""Payment actions from the admin, against the real sandbox process: re-query, close, refund.

Callbacks go to a closed port in tests (tests/conftest.py), so a buyer's payment is a lost
callback until someone asks the channel."""

import pytest
from django.contrib.admin.models import LogEntry

from backoffice.wording import when
from orders.enums import ActorKind, OrderStatus
from orders.models import StatusChange
from payments.enums import PaymentStatus, RefundReason, RefundStatus
from payments.models import Payment, PaymentCheck, Refund
from tests.admin.conftest import (
    admin_url,
    hidden_inputs,
    messages_of,
    paid,
    paying,
    run_action,
    said,
)
from tests.admin.scenario import aged

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"
STUCK = "/admin/reconciliation/stuckpayment/"


def admin_moves(payment: Payment, username: str) -> list[tuple[str, str]]:
    return list(
        StatusChange.objects.filter(
            entity_id=payment.pk, actor_kind=ActorKind.ADMIN, actor_ref=username
        ).values_list("from_status", "to_status")
    )


def test_requery_turns_a_payment_whose_callback_was_lost_paid(support, merchant, sandbox):
    payment = aged(paying(merchant), "created_at", 5 * 60)  # on the stuck list by now
    sandbox.pay(payment.out_trade_no)  # the buyer paid; the callback goes nowhere

    final, pages = run_action(support, STUCK, "recheck_payments", [payment])

    assert "Confirm" in pages[0].text and payment.out_trade_no in pages[0].text
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.order.status == OrderStatus.PAID
    assert admin_moves(payment, "sam.support") == [("PAYING", "SUCCEEDED")]
    query = PaymentCheck.objects.get(payment=payment)
    assert (query.actor_kind, query.actor_ref, query.answer, query.outcome) == (
        "ADMIN",
        "sam.support",
        "SUCCEEDED",
        "PAID",
    )
    assert said(final) == [
        (
            "success",
            f"Payment {payment.pk}: the channel confirmed the payment: the order is paid "
            "(payment Succeeded)",
        )
    ]
    assert LogEntry.objects.get(object_id=payment.pk).user.username == "sam.support"


def test_nothing_happens_before_the_confirmation(finance, merchant, sandbox):
    payment = paying(merchant)
    sandbox.pay(payment.out_trade_no)

    page = finance.post(
        PAYMENTS, {"action": "recheck_payments", "index": "0", "_selected_action": [payment.pk]}
    )

    assert page.status_code == 200 and "Yes, check at the channel now" in page.text
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAYING
    assert not PaymentCheck.objects.exists()


def test_a_requery_that_changes_nothing_is_still_on_record(finance, merchant, sandbox):
    payment = paying(merchant)

    final, _ = run_action(finance, PAYMENTS, "recheck_payments", [payment])

    payment.refresh_from_db()
    assert said(final) == [
        (
            "success",
            f"Payment {payment.pk}: the channel is still waiting for the buyer: nothing changed; "
            f"still Paying, will be checked again at {when(payment.next_check_at)}",
        )
    ]
    assert PaymentCheck.objects.get(payment=payment).answer == "PAYING"
    assert LogEntry.objects.filter(object_id=payment.pk).count() == 1


def test_a_requery_the_channel_did_not_answer_is_a_warning_with_the_reason_and_next_check(
    finance, merchant, sandbox
):
    payment = paying(merchant)
    sandbox.set_faults({"api_error_rate": {"query": 1}})

    final, _ = run_action(finance, PAYMENTS, "recheck_payments", [payment])

    payment.refresh_from_db()
    ((level, text),) = said(final)
    assert level == "warning"
    assert text.startswith(f"Payment {payment.pk}: the channel did not answer the query (")
    assert "HTTP 5" in text
    assert text.endswith(f"): still Paying, will be checked again at {when(payment.next_check_at)}")
    assert payment.status == PaymentStatus.PAYING


def test_a_close_the_channel_left_unclear_is_a_warning(finance, merchant, sandbox):
    payment = paying(merchant)
    sandbox.set_faults({"close_unknown_rate": 1})

    final, _ = run_action(finance, PAYMENTS, "close_payments", [payment])

    ((level, text),) = said(final)
    assert level == "warning"
    assert text.startswith(f"Payment {payment.pk}: the channel did not answer the close")
    assert "still Paying" in text


def test_close_at_channel_closes_the_trade_there_first(finance, merchant, sandbox):
    payment = paying(merchant)

    final, _ = run_action(finance, PAYMENTS, "close_payments", [payment])

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CLOSED
    assert sandbox.trade(payment.out_trade_no)["status"] == "CLOSED"
    assert admin_moves(payment, "fiona.finance") == [("PAYING", "CLOSED")]
    assert said(final) == [
        (
            "success",
            f"Payment {payment.pk}: closed at the channel: nothing more can be paid on it "
            "(payment Closed)",
        )
    ]


def test_closing_a_trade_the_buyer_already_paid_records_the_payment(finance, merchant, sandbox):
    payment = paying(merchant)
    sandbox.pay(payment.out_trade_no)

    run_action(finance, PAYMENTS, "close_payments", [payment])

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.order.__class__.objects.get(pk=payment.order_id).status == OrderStatus.PAID


def test_a_partial_refund_executes_at_the_sandbox_and_appears_in_the_timeline(
    finance, merchant, sandbox
):
    payment = paid(merchant, sandbox)

    final, pages = run_action(
        finance, PAYMENTS, "refund_payment", [payment], amount="4.00", reason="customer asked"
    )

    assert "still refundable CNY 10.00" in pages[0].text
    assert "Amount in CNY" in pages[0].text
    assert f"Refund CNY 4.00 of payment {payment.pk} (still refundable CNY 10.00)" in pages[1].text
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.reason, refund.note, refund.status) == (
        400,
        RefundReason.MANUAL,
        "customer asked",
        RefundStatus.SUCCEEDED,
    )
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 400
    assert admin_moves(refund, "fiona.finance") == [
        ("", "PENDING"),
        ("PENDING", "PROCESSING"),
        ("PROCESSING", "SUCCEEDED"),
    ]
    assert said(final) == [
        (
            "success",
            f"Payment {payment.pk}: refund {refund.pk} of CNY 4.00: the channel confirmed it, "
            "the money is on its way back",
        )
    ]

    timeline = finance.get(admin_url(Payment, "change", payment.pk))
    summaries = [entry.summary for entry in timeline.context["timeline"]]
    assert f"refund {refund.pk} of CNY 4.00 requested (Manual)" in summaries
    assert f"refund {refund.pk}: PROCESSING → SUCCEEDED" in summaries
    assert f"refund {refund.pk}: PROCESSING → SUCCEEDED" in timeline.text


def test_a_refund_above_what_is_left_is_refused_at_the_form_before_any_review(
    finance, merchant, sandbox
):
    payment = paid(merchant, sandbox)
    run_action(finance, PAYMENTS, "refund_payment", [payment], amount="7.00", reason="part")

    first = finance.post(
        PAYMENTS, {"action": "refund_payment", "index": "0", "_selected_action": [payment.pk]}
    )
    page = finance.post(
        PAYMENTS, {**hidden_inputs(first.text), "amount": "3.01", "reason": "too much"}
    )

    assert "CNY 3.01 is more than the CNY 3.00 still refundable." in page.text
    assert hidden_inputs(page.text)["_backoffice_step"] == ["review"]  # the form again
    assert list(Refund.objects.values_list("amount", flat=True)) == [700]
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 700


def test_a_payment_still_paying_is_offered_no_refund(finance, merchant, sandbox):
    payment = paying(merchant)

    response = finance.post(
        PAYMENTS,
        {"action": "refund_payment", "index": "0", "_selected_action": [payment.pk]},
        follow=True,
    )

    assert said(response) == [
        (
            "warning",
            f"Refund: payment {payment.pk} is Paying: only a succeeded payment can be refunded",
        )
    ]
    assert "id_amount" not in response.text
    assert not Refund.objects.exists()


def test_the_rest_can_be_refunded_which_refunds_the_order(finance, merchant, sandbox):
    payment = paid(merchant, sandbox)
    run_action(finance, PAYMENTS, "refund_payment", [payment], amount="7", reason="part")
    run_action(finance, PAYMENTS, "refund_payment", [payment], amount="3.00", reason="rest")

    payment.order.refresh_from_db()
    assert payment.order.status == OrderStatus.REFUNDED
    assert payment.order.refunded_amount == 1000


@pytest.mark.parametrize("typed", ["10.555", "1e3", "-1", "12,5.0.0", "ten", "0.00"])
def test_the_refund_form_rejects_what_is_not_an_exact_amount(finance, merchant, sandbox, typed):
    payment = paid(merchant, sandbox)
    first = finance.post(
        PAYMENTS, {"action": "refund_payment", "index": "0", "_selected_action": [payment.pk]}
    )
    page = finance.post(PAYMENTS, {**hidden_inputs(first.text), "amount": typed, "reason": "x"})

    assert "errorlist" in page.text
    assert hidden_inputs(page.text)["_backoffice_step"] == ["review"]
    assert not Refund.objects.exists()


def test_refund_is_one_payment_at_a_time(finance, merchant, sandbox):
    payments = [paid(merchant, sandbox), paid(merchant, sandbox)]

    response = finance.post(
        PAYMENTS,
        {"action": "refund_payment", "index": "0", "_selected_action": [p.pk for p in payments]},
        follow=True,
    )

    assert messages_of(response) == ["Refund: select exactly one row."]


def test_refund_needs_its_own_permission(support, merchant, sandbox):
    payment = paid(merchant, sandbox)

    offered = support.get(PAYMENTS).context["action_form"].fields["action"].choices
    attempt = support.post(
        PAYMENTS,
        {
            "action": "refund_payment",
            "index": "0",
            "_selected_action": [payment.pk],
            "_backoffice_step": "confirm",
            "amount": "1.00",
            "reason": "sneaky",
        },
        follow=True,
    )

    assert "refund_payment" not in dict(offered)
    assert "recheck_payments" in dict(offered)
    assert messages_of(attempt) == ["No action selected."]
    assert not Refund.objects.exists()
    assert sandbox.trade(payment.out_trade_no)["refunded_amount"] == 0


def test_support_may_neither_close_nor_refund_but_finance_may(support, finance):
    def offered(client):
        return set(dict(client.get(PAYMENTS).context["action_form"].fields["action"].choices))

    assert offered(support) == {"", "recheck_payments"}
    assert offered(finance) == {"", "recheck_payments", "close_payments", "refund_payment"}
