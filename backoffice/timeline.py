"""A payment's timeline: everything that happened to it, its order and its refunds, and who or
what caused it — transitions, checks, callbacks, channel confirmations, refunds, admin actions.
"""

from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from backoffice.wording import check_summary
from orders.models import StatusChange
from payments.models import ChannelNotification, Payment
from payments.templatetags.money import money
from reconciliation.models import StuckPayment


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    actor: str = ""
    detail: str = ""


def payment_timeline(payment: Payment) -> list[TimelineEntry]:
    refunds = list(payment.refunds.all())
    # Only verified callbacks name their trade; an unverified one is not attributed to anyone.
    callbacks = list(ChannelNotification.objects.filter(out_trade_no=payment.out_trade_no))
    entries = [
        *_status_changes(payment, refunds),
        *(_check(check) for check in payment.checks.all()),
        *(_callback(callback) for callback in callbacks),
        *(_confirmation(tx) for tx in payment.transactions.all()),
        *(_refund(refund) for refund in refunds),
        *_admin_actions(payment, callbacks),
    ]
    return sorted(entries, key=attrgetter("at"))


def _status_changes(payment: Payment, refunds) -> list[TimelineEntry]:
    changes = StatusChange.objects.filter(
        Q(entity=StatusChange.Entity.PAYMENT, entity_id=payment.pk)
        | Q(entity=StatusChange.Entity.ORDER, entity_id=payment.order_id)
        | Q(entity=StatusChange.Entity.REFUND, entity_id__in=[refund.pk for refund in refunds])
    )
    return [
        TimelineEntry(
            at=change.created_at,
            kind="status",
            summary=f"{change.entity} {change.entity_id}: "
            f"{change.from_status or 'created'} → {change.to_status}",
            actor=_actor(change.actor_kind, change.actor_ref),
            detail=change.note,
        )
        for change in changes
    ]


def _check(check) -> TimelineEntry:
    return TimelineEntry(
        at=check.asked_at,
        kind=check.call,
        summary=check_summary(check),
        actor=_actor(check.actor_kind, check.actor_ref),
        detail=check.error,
    )


def _callback(callback: ChannelNotification) -> TimelineEntry:
    verdict = f" ({callback.error_code})" if callback.error_code else ""
    return TimelineEntry(
        at=callback.received_at,
        kind="callback",
        summary=f"callback #{callback.pk}: {callback.outcome}{verdict}",
        actor=f"{callback.channel} from {callback.peer or 'unknown peer'}",
        detail=callback.error,
    )


def _confirmation(tx) -> TimelineEntry:
    return TimelineEntry(
        at=tx.created_at,
        kind="transaction",
        summary=f"channel confirmed {money(tx.amount, tx.currency)} "
        f"(trade {tx.channel_trade_no}, by {tx.source})",
        actor=tx.channel,
    )


def _refund(refund) -> TimelineEntry:
    return TimelineEntry(
        at=refund.created_at,
        kind="refund",
        # what was asked; how it went follows as the refund's status changes
        summary=f"refund {refund.pk} of {money(refund.amount, refund.currency)} requested "
        f"({refund.get_reason_display()})",
        detail=" · ".join(filter(None, [refund.note, refund.last_error])),
    )


def _admin_actions(payment: Payment, callbacks) -> list[TimelineEntry]:
    payment_types = ContentType.objects.get_for_models(
        Payment, StuckPayment, for_concrete_models=False
    ).values()
    entries = LogEntry.objects.select_related("user").filter(
        Q(content_type__in=payment_types, object_id=payment.pk)
        | Q(
            content_type=ContentType.objects.get_for_model(ChannelNotification),
            object_id__in=[str(callback.pk) for callback in callbacks],
        )
    )
    return [
        TimelineEntry(
            at=entry.action_time,
            kind="admin",
            summary=f"{entry.object_repr}: {entry.get_change_message()}",
            actor=f"ADMIN {entry.user.get_username()}",
        )
        for entry in entries
    ]


def _actor(kind: str, ref: str) -> str:
    return f"{kind} {ref}".strip()
