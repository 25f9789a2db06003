"""Nothing money-related is editable in the admin: amounts, statuses, trade numbers and
timestamps change only through actions that call the services."""

import pytest
from django.contrib.auth.models import User

from orders.models import Merchant, Order, StatusChange
from payments.enums import DeliveryStatus
from payments.models import (
    ChannelNotification,
    ChannelTransaction,
    Discrepancy,
    Event,
    Payment,
    Refund,
    WebhookDelivery,
)
from payments.services.notifications import notification_receive
from reconciliation.models import StatementLine, StuckPayment
from reconciliation.statements import statement_store
from tests.admin import known_day
from tests.admin.conftest import admin_url, client_for, messages_of, paid
from tests.admin.scenario import aged

pytestmark = pytest.mark.django_db

# What a tampered change form would try to set, per model.
TAMPERING = {
    Payment: {"amount": 1, "status": "FAILED", "out_trade_no": "X", "paid_at": "2001-01-01"},
    StuckPayment: {"amount": 1, "status": "FAILED", "channel_trade_no": "X"},
    Refund: {"amount": 1, "status": "FAILED", "out_refund_no": "X"},
    ChannelTransaction: {"amount": 1, "status": "FAILED", "channel_trade_no": "X"},
    ChannelNotification: {"outcome": "APPLIED", "out_trade_no": "X", "error_code": ""},
    Event: {"type": "order.closed", "payload": "{}"},
    WebhookDelivery: {"status": "PENDING", "attempts": 0},
    Order: {"amount": 1, "status": "CLOSED", "refunded_amount": 0},
    Merchant: {"name": "Renamed", "is_active": False},
    Discrepancy: {"resolution": "done", "kind": "MISSING_HERE"},
    StatementLine: {"amount": 1, "status": "CLOSED", "out_trade_no": "X", "fee": 0},
}


@pytest.fixture
def one_of_each(merchant, sandbox, finance):
    payment = paid(merchant, sandbox)
    aged(payment, "created_at", 600)
    Payment.objects.filter(pk=payment.pk).update(status="PAYING")  # a stuck one, for the proxy
    event = Event.objects.first()
    WebhookDelivery.objects.create(
        event=event, endpoint_url="https://partner.example/h", status=DeliveryStatus.DEAD
    )
    notification_receive(channel="sandbox", headers={}, body=b"{}", peer="127.0.0.1")
    Refund.objects.create(payment=payment, amount=100, currency="CNY", reason="MANUAL")
    Discrepancy.objects.create(channel="sandbox", kind="AMOUNT_MISMATCH", details={})
    lines = known_day.statement_lines()
    statement_store(channel="sandbox", day=known_day.known_day(), raw=b"file", lines=lines)
    return {model: model._default_manager.first() for model in TAMPERING}


def snapshot(instance) -> dict:
    return {
        field.attname: getattr(type(instance)._default_manager.get(pk=instance.pk), field.attname)
        for field in instance._meta.concrete_fields
    }


@pytest.fixture(params=["superuser", "finance"])
def staff(request, finance):
    if request.param == "finance":
        return finance
    return client_for(User.objects.create_superuser("root", "", "x-pass-long-enough"))


@pytest.mark.parametrize("model", list(TAMPERING), ids=lambda model: model.__name__)
def test_posting_a_changed_form_changes_nothing(staff, one_of_each, model):
    instance = one_of_each[model]
    before = snapshot(instance)

    response = staff.post(admin_url(model, "change", instance.pk), TAMPERING[model])

    assert response.status_code == 403
    assert snapshot(instance) == before


@pytest.mark.parametrize("model", list(TAMPERING), ids=lambda model: model.__name__)
def test_the_change_form_is_view_only(staff, one_of_each, model):
    page = staff.get(admin_url(model, "change", one_of_each[model].pk))

    assert page.status_code == 200
    assert not page.context["adminform"].form.fields  # every field is read-only
    assert 'name="_save"' not in page.text


@pytest.mark.parametrize("model", list(TAMPERING), ids=lambda model: model.__name__)
def test_nothing_can_be_added_or_deleted(staff, one_of_each, model):
    instance = one_of_each[model]
    before = model._default_manager.count()

    added = staff.post(admin_url(model, "add"), TAMPERING[model])
    deleted = staff.post(admin_url(model, "delete", instance.pk), {"post": "yes"})

    assert (added.status_code, deleted.status_code) == (403, 403)
    assert model._default_manager.count() == before


def test_the_audit_trail_cannot_be_edited_through_the_order_form(staff, one_of_each):
    order = one_of_each[Order]
    changes = list(StatusChange.objects.filter(order=order).values())

    staff.post(
        admin_url(Order, "change", order.pk),
        {"status_changes-TOTAL_FORMS": "1", "status_changes-0-to_status": "CLOSED"},
    )

    assert list(StatusChange.objects.filter(order=order).values()) == changes


def test_bulk_delete_is_not_an_action(finance, one_of_each):
    payment = one_of_each[Payment]
    payments = admin_url(Payment, "changelist")
    offered = finance.get(payments).context["action_form"].fields["action"]

    response = finance.post(
        payments,
        {"action": "delete_selected", "index": "0", "_selected_action": [payment.pk]},
        follow=True,
    )

    assert "delete_selected" not in dict(offered.choices)
    assert messages_of(response) == ["No action selected."]
    assert Payment.objects.filter(pk=payment.pk).exists()
