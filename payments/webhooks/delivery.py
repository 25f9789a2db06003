"""Webhook deliveries: one per (event, endpoint), written in the event's transaction (outbox).

One attempt right after commit, on a short-lived thread so a slow receiver never holds up the
request or callback that caused the event; then the pump retries due deliveries with back-off
(WEBHOOK_RETRY_SCHEDULE) until one is answered 2xx, or the schedule runs out: DEAD.

Every attempt is claimed first: SELECT … FOR UPDATE SKIP LOCKED, then attempts + 1 and
next_attempt_at pushed forward by a lease, committed before the HTTP call. So workers never
send the same attempt twice, and a worker that dies mid-send only delays the delivery until the
lease runs out. The result is recorded only by the claim that still owns the delivery.
Delivery is at least once: the event id is stable, receivers dedup on it.
"""

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from requests.adapters import HTTPAdapter

from orders.audit import Actor
from orders.errors import Refusal
from orders.log_context import logs_with
from orders.models import Merchant
from orders.webhook_urls import WebhookTarget, WebhookUrlRefused, webhook_target
from payments.enums import DeliveryStatus
from payments.models import Event, WebhookDelivery
from payments.webhooks.envelope import event_body
from payments.webhooks.signing import SIGNATURE_HEADER, signature_header, signing_secrets

logger = logging.getLogger(__name__)

# Due deliveries claimed per pump tick and sent side by side: a tick lasts about one timeout
# at worst, and every claimed delivery is sent well within its lease.
SEND_BATCH = 8


class DeliveryRefused(Refusal):
    pass


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempt: int
    endpoint_url: str
    event: Event


def webhook_deliveries_create(*, merchant_id: str, events: list[Event]) -> list[WebhookDelivery]:
    """Inside the events' transaction (the merchant's events of one change): a rolled-back
    event leaves no delivery behind."""
    endpoint_url = Merchant.objects.values_list("webhook_url", flat=True).get(pk=merchant_id)
    if not endpoint_url:
        return []
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(event=event, endpoint_url=endpoint_url, next_attempt_at=now)
            for event in events
        ]
    )
    for delivery in deliveries:
        transaction.on_commit(partial(_deliver_in_background, delivery.pk))
    return deliveries


@logs_with(delivery="delivery_id")
def webhook_deliver(*, delivery_id: int) -> bool:
    """Attempt one delivery now, if it is due and no other worker holds it."""
    claims = _claim(WebhookDelivery.objects.filter(pk=delivery_id), limit=1)
    for claim in claims:
        _send(claim)
    return bool(claims)


def webhook_deliver_due(*, batch: int = SEND_BATCH) -> int:
    """The pump's job: claim the due deliveries (SKIP LOCKED) and send them side by side."""
    claims = _claim(WebhookDelivery.objects.all(), limit=batch)
    if claims:
        with ThreadPoolExecutor(len(claims), thread_name_prefix="webhook") as pool:
            list(pool.map(partial(_in_own_connection, _send), claims))
    return len(claims)


@logs_with(delivery="delivery_id", actor="actor")
def webhook_delivery_replay(*, delivery_id: int, actor: Actor) -> WebhookDelivery:
    """Send a dead-lettered delivery again, with a fresh retry schedule (admin action)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != DeliveryStatus.DEAD:
            raise DeliveryRefused("delivery_not_dead", "only a dead delivery can be replayed")
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.replayed_at = now
        delivery.replayed_by = f"{actor.kind}:{actor.ref}"[:200]
        delivery.save()
        transaction.on_commit(partial(_deliver_in_background, delivery.pk))
    logger.info("webhook replayed: delivery=%s event=%s", delivery.pk, delivery.event_id)
    return delivery


def _claim(deliveries: QuerySet, *, limit: int) -> list[Claim]:
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3)
    with transaction.atomic():
        due = list(
            deliveries.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for delivery in due:
            delivery.attempts += 1
            delivery.next_attempt_at = now + lease
            delivery.save(update_fields=["attempts", "next_attempt_at"])
    return [Claim(d.pk, d.attempts, d.endpoint_url, d.event) for d in due]


def _send(claim: Claim) -> None:
    merchant = Merchant.objects.get(pk=claim.event.merchant_id)
    body = event_body(claim.event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Paycenter-Webhooks/1",
        SIGNATURE_HEADER: signature_header(
            body, signing_secrets(merchant, timezone.now()), timestamp
        ),
        "Paycenter-Event-Id": claim.event.id,
        "Paycenter-Event-Type": claim.event.type,
        "Paycenter-Delivery-Attempt": str(claim.attempt),
    }
    status_code, error = None, ""
    try:
        # checked now, at the send: what the name resolves to may have changed since it was saved
        target = webhook_target(claim.endpoint_url)
        status_code = _post(target, body, headers)
    except WebhookUrlRefused as refused:
        logger.warning("webhook URL refused: merchant=%s %s", merchant.pk, refused.message)
        error = f"refused: {refused.message}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    _record(claim, status_code, error)


def _post(target: WebhookTarget, body: bytes, headers: dict[str, str]) -> int:
    """POST to the checked address itself (pinned), with the URL's name as Host and, over TLS,
    as the name sent (SNI) and verified in the certificate. Only the status is read."""
    with requests.Session() as session:
        if target.url.startswith("https://"):
            session.mount("https://", _PinnedTLS(target.hostname))
        with session.post(
            target.url,
            data=body,
            headers={**headers, "Host": target.host},
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            return response.status_code


class _PinnedTLS(HTTPAdapter):
    """TLS to an address, checked against the name it was resolved from."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs.update(server_hostname=self._hostname, assert_hostname=self._hostname)
        super().init_poolmanager(*args, **kwargs)


def _record(claim: Claim, status_code: int | None, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=claim.delivery_id)
        if delivery.status != DeliveryStatus.PENDING or delivery.attempts != claim.attempt:
            return  # our lease ran out and a later claim owns the delivery now
        delivery.last_status_code = status_code
        if status_code is not None and 200 <= status_code < 300:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            delivery.last_error = ""
        else:
            delivery.last_error = (error or f"HTTP {status_code}")[:2000]
            delay = _retry_delay(delivery.attempts)
            if delay is None:
                delivery.status = DeliveryStatus.DEAD
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + delay
        delivery.save()
    log = logger.error if delivery.status == DeliveryStatus.DEAD else logger.info
    log(
        "webhook attempt: delivery=%s event=%s merchant=%s attempt=%s status=%s outcome=%s",
        delivery.pk,
        claim.event.id,
        claim.event.merchant_id,
        claim.attempt,
        status_code or error,
        delivery.status,
    )


def _retry_delay(attempts: int) -> timedelta | None:
    """Wait before the next attempt after ``attempts`` failures; None once the schedule is spent."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    return timedelta(seconds=schedule[attempts - 1])


def _deliver_in_background(delivery_id: int) -> None:
    # In the caller's log context: the attempt's log line names the request that caused it.
    threading.Thread(
        target=contextvars.copy_context().run,
        args=(_in_own_connection, webhook_deliver),
        kwargs={"delivery_id": delivery_id},
        name=f"webhook-{delivery_id}",
        daemon=True,
    ).start()


def _in_own_connection(fn: Callable, *args, **kwargs) -> None:
    """Run on a worker thread: its database connection is its own and closed at the end.
    A failure only delays the delivery: its lease runs out and the pump tries again."""
    try:
        fn(*args, **kwargs)
    except Exception:
        logger.exception("webhook delivery failed unexpectedly")
    finally:
        connection.close()
