"""Database queries one request of each hot endpoint makes, as JSON (run by bench/throughput.py
in the environment of the system under test)."""

import json
import uuid

import django_project  # noqa: F401  first: the project importable, Django set up

# isort: split

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.models import Payment
from tests.helpers import signed_notification


def counted(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code < 400, response.content
    return len(queries), response


def main() -> None:
    client = Client(headers={"Authorization": f"Bearer {settings.DEMO_API_KEY}"})
    body = {
        "merchant_order_no": f"qc-{uuid.uuid4().hex}",
        "amount": 1999,
        "currency": "CNY",
        "subject": "Tea",
    }
    post = lambda **headers: client.post(  # noqa: E731
        "/api/v1/orders", body, content_type="application/json", headers=headers
    )
    counts = {}
    client.get("/api/v1/orders")  # counted warm, as under load: the key already cached
    counts["POST /orders"], created = counted(post)
    order_id = created.json()["id"]
    counts["GET /orders/{id}"], _ = counted(lambda: client.get(f"/api/v1/orders/{order_id}"))
    body["merchant_order_no"] = f"qc-{uuid.uuid4().hex}"
    post(**{"Idempotency-Key": "qc-replay"})
    counts["replay POST /orders"], _ = counted(lambda: post(**{"Idempotency-Key": "qc-replay"}))
    counts["POST /orders/{id}/payments"], started = counted(
        lambda: client.post(
            f"/api/v1/orders/{order_id}/payments",
            {"channel": "sandbox"},
            content_type="application/json",
        )
    )
    # the sandbox's success callback for it, signed as the sandbox signs
    headers, notification = signed_notification(
        Payment.objects.get(pk=started.json()["id"]), settings.SANDBOX_SECRET
    )
    counts["callback (pays the order)"], _ = counted(
        lambda: Client().post(
            "/callbacks/sandbox/", notification, content_type="application/json", headers=headers
        )
    )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
