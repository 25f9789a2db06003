"""Payment checks: durable delayed work in PostgreSQL against order loss.

Every open payment carries `next_check_at`, and so does a closed one until its order's deadline
plus a grace (a buyer's payment can cross the close at the channel, and its callback can be
lost). The pump claims the due ones one at a time with SELECT … FOR UPDATE SKIP LOCKED, in one lane
per channel (config/pump.py: a hanging channel delays only its own checks), pushes
`next_check_at` forward as a lease that outlives the check (a worker killed mid-check only
delays the payment), commits, and only then calls the channel; the next check is scheduled from
the moment the check finished. A payment whose order has expired is closed at its
channel instead of queried (the first step of expiry). The partial index on scheduled checks
(next_check_at IS NOT NULL) keeps a tick's cost proportional to the payments that are due, not
to the table.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from orders.audit import EXPIRY, PAYMENT_CHECKS
from orders.enums import OPEN_ORDER_STATUSES
from orders.log_context import logs_with
from payments.channels import get_channel
from payments.enums import OPEN_PAYMENT_STATUSES, PaymentStatus
from payments.locks import first_in_window
from payments.models import Payment
from payments.queue import enqueue
from payments.services.attempts import CloseOutcome, payment_close_attempt
from payments.services.checks import payment_check_now, payment_query

logger = logging.getLogger(__name__)

# Open payments, and closed ones until their deadline (a payment may cross the close).
CHECKED_STATUSES = (*OPEN_PAYMENT_STATUSES, PaymentStatus.CLOSED)


def payments_check_due(*, now: datetime, batch: int, channel: str | None = None) -> int:
    """Check up to ``batch`` payments due by ``now`` (of one channel, or of all), claiming them
    one at a time so each lease covers a single check. Returns how many were checked."""
    checked = 0
    while checked < batch and (payment_id := payment_claim_due(now=now, channel=channel)):
        payment_check(payment_id=payment_id, now=timezone.now())
        checked += 1
    return checked


def payments_check_backlog(*, now: datetime, batch: int, channel: str) -> int:
    """The pump's check of one channel: ``batch`` due payments. A full batch means a backlog,
    which one lane would work off one check at a time: it is spread over the job workers of
    every cluster by PAYMENT_CHECK_DRAINERS drain tasks, started at most once per drain life
    across all pumps (a Redis window; without Redis the pump goes on alone). Claims stay
    SKIP LOCKED leases, so the pump and the drainers never check one payment twice at once."""
    checked = payments_check_due(now=now, batch=batch, channel=channel)
    drainers = settings.PAYMENT_CHECK_DRAINERS
    if checked == batch and drainers and _first_drain(channel):
        for _ in range(drainers):
            enqueue("payments.tasks.payments_drain_due", channel)
    return checked


def _first_drain(channel: str) -> bool:
    return first_in_window(
        f"check-drainers:{channel}",
        settings.PAYMENT_CHECK_DRAIN_SECONDS,
        when_redis_down=lambda: False,
    )


def payments_drain_due(*, channel: str) -> int:
    """A drain task: check due payments of one channel one at a time until none is due or
    PAYMENT_CHECK_DRAIN_SECONDS have passed. Returns how many were checked."""
    deadline = time.monotonic() + settings.PAYMENT_CHECK_DRAIN_SECONDS
    checked = 0
    while time.monotonic() < deadline and payments_check_due(
        now=timezone.now(), batch=1, channel=channel
    ):
        checked += 1
    return checked


def payment_claim_due(*, now: datetime, channel: str | None = None) -> str | None:
    """One statement: lock one due payment that no one else holds and push its next_check_at
    forward by the lease, so no other worker claims it while its check runs. Its row lock
    (SKIP LOCKED) lasts only for the statement, its lease for the check."""
    sql = CLAIM_DUE_SQL.format(of_channel="" if channel is None else "AND channel = %(channel)s")
    lease_until = timezone.now() + check_lease()
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "channel": channel, "lease_until": lease_until})
        row = cursor.fetchone()
    return row[0] if row else None


# The ORM has no UPDATE over a locking subquery that returns the row it claimed: one round
# trip instead of a transaction's four (the partial index on next_check_at serves the subquery).
CLAIM_DUE_SQL = """
UPDATE payments_payment SET next_check_at = %(lease_until)s
WHERE id = (
    SELECT id FROM payments_payment
    WHERE next_check_at <= %(now)s {of_channel}
    ORDER BY next_check_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def check_lease() -> timedelta:
    # A check makes at most two channel calls (a close, or a query), each bounded by the timeout.
    return timedelta(
        seconds=max(settings.PAYMENT_CHECK_LEASE_SECONDS, 2 * settings.CHANNEL_HTTP_TIMEOUT_SECONDS)
    )


@logs_with(payment="payment_id")
def payment_check(*, payment_id: str, now: datetime) -> None:
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    if payment.status not in CHECKED_STATUSES:
        return
    if payment.is_open and _should_close(payment, now):
        outcome = payment_close_attempt(payment_id=payment_id, actor=EXPIRY)
        if outcome == CloseOutcome.DEFERRED:
            # a close the channel does not accept yet waits for a later check: ask meanwhile
            payment_check_now(payment_id=payment_id, actor=PAYMENT_CHECKS)
    else:
        payment_query(payment=payment, actor=PAYMENT_CHECKS)
    _schedule_next_check(payment, timezone.now())


def _should_close(payment: Payment, now: datetime) -> bool:
    """An open attempt is closed when its order has expired, and also whenever its order is no
    longer open (another attempt won, or the order was closed): one close answered unknown is
    retried on every check until the channel confirms, so the attempt never stays payable.
    An attempt its channel cannot close is queried instead, so a late success is still found."""
    if not get_channel(payment.channel).capabilities.supports_close:
        return False
    order = payment.order
    if order.status not in OPEN_ORDER_STATUSES:
        return True
    return order.expires_at <= now and not payment.superseded


def _schedule_next_check(read: Payment, now: datetime) -> None:
    """Count the check and schedule the next one, from the payment as the check read it: one
    conditional UPDATE, unless the payment moved meanwhile (its answer was applied, a callback
    or a close came in); then it is read again under its row lock."""
    unmoved = Payment.objects.filter(
        pk=read.pk,
        status=read.status,
        check_attempts=read.check_attempts,
        needs_attention=read.needs_attention,
    )
    payment, flagged = read, _count_check(read, now)
    if not unmoved.update(**{field: getattr(read, field) for field in SCHEDULE_FIELDS}):
        with transaction.atomic():
            payment = (
                Payment.objects.select_for_update(of=("self",))
                .select_related("order")
                .get(pk=read.pk)
            )
            if payment.status not in CHECKED_STATUSES:
                return  # succeeded or failed: apply cleared next_check_at
            flagged = _count_check(payment, now)
            payment.save(update_fields=SCHEDULE_FIELDS)
    if flagged:
        logger.warning(
            "payment still open after %s checks: payment=%s order=%s out_trade_no=%s channel=%s",
            payment.check_attempts,
            payment.pk,
            payment.order_id,
            payment.out_trade_no,
            payment.channel,
        )


SCHEDULE_FIELDS = ["check_attempts", "next_check_at", "needs_attention"]


def _count_check(payment: Payment, now: datetime) -> bool:
    """Count one more check and set the next; True when this check flags the payment for
    finance (still open past the fast checks)."""
    payment.check_attempts += 1
    payment.next_check_at = next_check_at(payment, now)
    fast_checks = len(settings.PAYMENT_CHECK_SCHEDULE)
    still_unknown = payment.is_open and payment.check_attempts > fast_checks
    flagged = still_unknown and not payment.needs_attention
    payment.needs_attention = payment.needs_attention or still_unknown
    return flagged


def next_check_at(payment: Payment, now: datetime) -> datetime | None:
    """The fast schedule (10 s, 20 s, 30 s by default), then doubling back-off up to a cap.

    An open payment is checked for as long as it is open (closed or queried until the channel
    gives a final answer; past the fast checks it is flagged for finance). A closed one is
    checked until its order's expiry plus a grace, then None: a payment can cross the close."""
    fast = settings.PAYMENT_CHECK_SCHEDULE
    done = payment.check_attempts
    if done <= len(fast):
        delay = fast[done - 1]
    else:
        delay = min(fast[-1] * 2 ** (done - len(fast)), settings.PAYMENT_CHECK_BACKOFF_MAX_SECONDS)
    if payment.is_open:
        return now + timedelta(seconds=delay)
    deadline = payment.order.expires_at + timedelta(seconds=settings.PAYMENT_CHECK_GRACE_SECONDS)
    if now >= deadline:
        return None
    return min(now + timedelta(seconds=delay), deadline)
