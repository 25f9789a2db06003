"""Idempotency-Key on every POST, kept in PostgreSQL.

A row per (merchant, key), UNIQUE: the first request inserts it (insert first, catch the
conflict) and holds it (locked_at) while it runs. Then, for a later request with the same key:

- another request (method, path or body differ) → 422 `idempotency_key_reused`;
- the first one has answered → its stored answer, byte for byte, with `Idempotent-Replayed: true`;
- the first one is still running → 409 `idempotency_key_in_use` (retry shortly).

A 5xx answer or a crash deletes the row: the client may retry with the same key. A row locked
for longer than IDEMPOTENCY_LOCK_TIMEOUT_SECONDS belongs to a process that died mid-request and
may be taken over. Rows are purged after IDEMPOTENCY_KEY_RETENTION_SECONDS (a schedule).
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import status

from orders.models import Merchant
from partner_api.errors import ApiError
from payments.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as any HTTP client can send


class Replay(Exception):
    """Carries the stored answer out of the view's setup, straight to the client."""

    def __init__(self, response: HttpResponse):
        super().__init__("idempotent replay")
        self.response = response


@dataclass(frozen=True)
class Claim:
    """This request holds the key: only it may store the answer or release the key."""

    pk: int
    locked_at: datetime


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def idempotency_claim(*, merchant: Merchant, key: str, fingerprint: str) -> Claim:
    """Hold the key for this request, or raise Replay / ApiError (409, 422)."""
    if not KEY_PATTERN.fullmatch(key):
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-255 visible ASCII characters",
            field=HEADER,
        )
    # Twice at most: the holder may release the key between our insert and our read.
    for _ in range(2):
        now = timezone.now()
        claimed = _insert_unless_taken(merchant, key, fingerprint, now)
        if claimed is not None:
            return Claim(claimed, now)
        row = IdempotencyKey.objects.filter(merchant=merchant, key=key).first()
        if row is not None:
            return _existing(row, fingerprint, now)
    raise _in_use()


def _insert_unless_taken(merchant: Merchant, key: str, fingerprint: str, now: datetime):
    """Insert the key's row, held by this request: its id, or None when the merchant's key is
    taken. INSERT … ON CONFLICT DO NOTHING, so a replay (the conflict) costs no savepoint around
    a failing insert, inside the view's transaction or not."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IdempotencyKey._meta.db_table} "  # noqa: S608 (the model's own table)
            "(merchant_id, key, request_fingerprint, locked_at, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (merchant_id, key) DO NOTHING RETURNING id",
            [merchant.pk, key, fingerprint, now, now],
        )
        inserted = cursor.fetchone()
    return inserted[0] if inserted else None


def idempotency_complete(claim: Claim, response: HttpResponse) -> None:
    IdempotencyKey.objects.filter(pk=claim.pk, locked_at=claim.locked_at).update(
        response_status=response.status_code, response_body=response.content, locked_at=None
    )


def idempotency_release(claim: Claim) -> None:
    IdempotencyKey.objects.filter(pk=claim.pk, locked_at=claim.locked_at).delete()


def _existing(row: IdempotencyKey, fingerprint: str, now: datetime) -> Claim:
    if row.request_fingerprint != fingerprint:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
            field=HEADER,
        )
    if row.response_status is not None:
        response = HttpResponse(
            bytes(row.response_body), status=row.response_status, content_type="application/json"
        )
        response[REPLAYED_HEADER] = "true"
        raise Replay(response)
    stale = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS)
    if row.locked_at is not None and row.locked_at < stale:
        taken = IdempotencyKey.objects.filter(
            pk=row.pk, locked_at=row.locked_at, response_status__isnull=True
        ).update(locked_at=now)
        if taken:
            return Claim(row.pk, now)
    raise _in_use()


def _in_use() -> ApiError:
    return ApiError(
        status.HTTP_409_CONFLICT,
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being processed; retry shortly",
        field=HEADER,
        headers={"Retry-After": "1"},
    )


class IdempotentPostMixin:
    """For APIView: every POST carrying an Idempotency-Key goes through the key.

    The key is claimed after authentication and throttling (their refusals are never stored);
    the answer is stored in finalize_response, which also sees mapped exceptions; a request
    that dies before it (the `finally` in dispatch) releases the key.

    A view whose change is written without calling a channel (orders, refunds, the webhook
    secret) sets ``transactional``: the change, the key and its stored answer commit in one
    transaction — a crash, a 5xx or the database going away mid-request leaves neither, an
    answered request leaves both, so a retry completes or replays it and never repeats the
    change. ``idempotency_required`` (refunds) also makes the key mandatory. Views that call a
    channel (start a payment, close an order) cannot hold a transaction across the call; their
    operations are idempotent themselves (the same open attempt, an order closed once), so a
    retry after a crash repeats nothing either (if the database went away mid-request, the
    key is only taken over after IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: 409 until then).
    """

    idempotency: Claim | None = None
    idempotency_required = False
    transactional = False

    def dispatch(self, request, *args, **kwargs):
        if self.transactional and request.method == "POST" and HEADER in request.headers:
            # a request that dies rolls its claim back with its change: nothing to release
            # (without a key there is no claim: the change commits in its service's own
            # transaction, as it would have here)
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self.idempotency is not None:
                idempotency_release(self.idempotency)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if request.method != "POST":
            return
        if key is None:
            if self.idempotency_required:
                raise ApiError(
                    status.HTTP_400_BAD_REQUEST,
                    "idempotency_key_required",
                    "this request changes money: send an Idempotency-Key header, and the same "
                    "key again when you retry it",
                    field=HEADER,
                )
            return
        self.idempotency = idempotency_claim(
            merchant=request.user,
            key=key,
            fingerprint=request_fingerprint(request.method, request.path, request.body),
        )

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim, self.idempotency = self.idempotency, None
        if claim is not None:
            if response.status_code >= 500:
                if self.transactional:
                    transaction.set_rollback(True)  # the key goes with the change
                else:
                    idempotency_release(claim)
            else:
                response.render()
                idempotency_complete(claim, response)
        return response
