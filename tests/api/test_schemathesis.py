"""schemathesis over the live schema, in-process (WSGI): generated valid and invalid requests
with a valid API key; no answer is a 5xx and every answer matches the schema."""

import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders.models import Order
from payments.enums import RefundReason
from payments.models import Payment
from payments.services.refunds import refund_create_in_transaction
from tests.conftest import API
from tests.factories import make_order

EXAMPLES = 10  # per operation and mode: bounded, a few seconds in all
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_orders(partner, sandbox):
    """Real objects for the generated requests to act on: a paid order with a refund, and an
    unpaid order."""
    paid = make_order(partner.merchant, merchant_order_no="fuzz-paid")
    payment = Payment.objects.create(
        order=paid,
        channel="sandbox",
        amount=paid.amount,
        currency=paid.currency,
        status="SUCCEEDED",
        paid_at=timezone.now(),
    )
    Order.objects.filter(pk=paid.pk).update(status="PAID", paid_payment=payment)
    refund = refund_create_in_transaction(
        payment=payment, amount=1, reason=RefundReason.MERCHANT_REQUEST, actor=API
    )
    unpaid = make_order(partner.merchant, merchant_order_no="fuzz-unpaid")
    return {"paid": paid.pk, "unpaid": unpaid.pk, "payment": payment.pk, "refund": refund.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_5xx_or_an_answer_off_the_schema(partner, fuzz_orders, mode):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    for result in schema.get_all_operations():
        operation = result.ok()
        # Ids point at real objects (random ids are only ever 404: see test_auth, test_orders).
        ids = {
            "order_id": fuzz_orders["unpaid" if operation.path.endswith("/payments") else "paid"],
            "payment_id": fuzz_orders["payment"],
            "refund_id": fuzz_orders["refund"],
        }
        path_parameters = {name: ids[name] for name in re.findall(r"{(\w+)}", operation.path)}

        @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
        @settings(
            max_examples=EXAMPLES,
            deadline=3000,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def requests_conform(case):
            case.call_and_validate(headers=partner.auth, checks=CHECKS)

        requests_conform()
