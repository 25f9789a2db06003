"""Detail pages read like the lists: money formatted, enum labels, the pay action as the
customer saw it, one date format with the time zone, the timeline in order, and the actions
as buttons that do what they say."""

import re

import pytest

from orders.models import Order
from payments.models import Payment, Refund
from tests.admin.conftest import admin_url, hidden_inputs, paid, paying, said

pytestmark = pytest.mark.django_db

DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}")


def test_a_payment_page_shows_money_labels_and_the_qr_code(finance, merchant, sandbox):
    payment = paying(merchant, amount=1280)

    page = finance.get(admin_url(Payment, "change", payment.pk)).text

    assert "CNY 12.80" in page
    assert "1280" not in page.replace(payment.out_trade_no, "")
    assert "minor units" not in page
    assert ">PC<" in page and ">Pc<" not in page
    assert 'class="qr-code"' in page and payment.pay_action["qr_content"] in page
    assert '"qr_content"' not in page  # not the raw JSON


def test_dates_are_in_one_format_with_the_offset_of_TIME_ZONE(finance, merchant, sandbox):
    payment = paying(merchant)

    page = finance.get(admin_url(Payment, "change", payment.pk)).text

    assert DATETIME.search(page)
    assert "+0800" in page  # the default TIME_ZONE: Asia/Shanghai
    assert " a.m." not in page and " p.m." not in page


def test_an_order_page_shows_its_amounts_for_people(finance, merchant, sandbox):
    payment = paid(merchant, sandbox, amount=3200)

    page = finance.get(admin_url(Order, "change", payment.order_id)).text

    assert "CNY 32.00" in page and "CNY 0.00" in page


def test_the_timeline_reads_in_the_order_things_happened(finance, merchant, sandbox):
    payment = paid(merchant, sandbox)

    timeline = finance.get(admin_url(Payment, "change", payment.pk)).context["timeline"]

    moments = [entry.at for entry in timeline]
    assert moments == sorted(moments)
    kinds = [entry.kind for entry in timeline]
    assert kinds.index("query") < kinds.index("transaction")  # cause, then effect
    query = next(entry for entry in timeline if entry.kind == "query")
    assert (
        query.summary
        == "Query: paid at the channel → the channel confirmed the payment: the order is paid"
    )


def test_the_actions_are_buttons_on_the_detail_page_and_come_back_to_it(finance, merchant, sandbox):
    payment = paying(merchant)
    detail = admin_url(Payment, "change", payment.pk)
    page = finance.get(detail)

    assert 'data-action="recheck_payments"' in page.text
    assert 'data-action="close_payments"' in page.text
    assert "Back to the list" in page.text
    assert ">Close<" not in page.text  # the view-only "Close" link next to "Close at the channel"

    (form,) = [form for form in page.text.split("<form") if 'data-action="close_payments"' in form]
    list_url = re.match(r' method="post" action="([^"]+)"', form).group(1)
    confirmation = finance.post(list_url, hidden_inputs(form))
    assert "Yes, close at the channel" in confirmation.text
    done = finance.post(list_url, hidden_inputs(confirmation.text), follow=True)

    assert done.redirect_chain[-1][0] == detail
    assert said(done)[0][0] == "success"
    payment.refresh_from_db()
    assert payment.status == "CLOSED"


def test_a_refund_page_shows_its_amount(finance, merchant, sandbox):
    payment = paid(merchant, sandbox)
    refund = Refund.objects.create(payment=payment, amount=250, currency="CNY", reason="MANUAL")

    page = finance.get(admin_url(Refund, "change", refund.pk)).text

    assert "CNY 2.50" in page
