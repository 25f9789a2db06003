"""Refunds through the API happen once: the Idempotency-Key is required, and
the refund and the key's stored answer commit together, so no retry can make a second one."""

import pytest

from payments.models import IdempotencyKey, Refund
from tests.api.test_payments import pay_at_sandbox, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(partner, sandbox):
    order = partner.create_order()
    pay_at_sandbox(partner, sandbox, start(partner, order).json())
    return order


def refund(partner, order, key=None, amount=500):
    headers = {"Idempotency-Key": key} if key else {}
    return partner.post(f"/orders/{order['id']}/refunds", {"amount": amount}, **headers)


def test_a_refund_without_an_idempotency_key_is_refused(partner, paid_order):
    response = refund(partner, paid_order)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("idempotency_key_required", "Idempotency-Key")
    assert not Refund.objects.exists()


def test_a_5xx_after_the_refund_is_written_leaves_no_refund_behind(
    partner, paid_order, monkeypatch
):
    # the refund row is written, then answering it fails (a bug, a dying worker)
    def broken_answer(self, instance):
        raise RuntimeError("serializer crashed after the refund was written")

    monkeypatch.setattr("partner_api.views.RefundSerializer.to_representation", broken_answer)
    crashed = refund(partner, paid_order, key="refund-1")
    monkeypatch.undo()

    retried = refund(partner, paid_order, key="refund-1")
    again = refund(partner, paid_order, key="refund-1")

    assert crashed.status_code == 500
    assert retried.status_code == 201
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == retried.json()["id"]
    assert Refund.objects.count() == 1


def test_the_refund_and_its_answer_are_committed_together(partner, paid_order):
    answer = refund(partner, paid_order, key="refund-2")

    stored = IdempotencyKey.objects.get(key="refund-2")
    assert stored.response_status == 201 and stored.locked_at is None
    assert bytes(stored.response_body) == answer.content
    assert Refund.objects.get().id == answer.json()["id"]


def test_a_refused_refund_is_answered_the_same_on_retry_and_changes_nothing(partner, paid_order):
    first = refund(partner, paid_order, key="too-much", amount=5000)
    again = refund(partner, paid_order, key="too-much", amount=5000)

    assert first.status_code == again.status_code == 422
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert not Refund.objects.exists()
