"""The record of every question asked of a payment's channel (queries and closes) and its
outcome: the back office's timeline, and what the channel last said about a stuck payment."""

from datetime import datetime

from orders.audit import Actor
from payments.channels.base import TradeResult
from payments.models import Payment, PaymentCheck


def payment_check_record(
    *,
    payment: Payment,
    asked_at: datetime,
    result: TradeResult,
    outcome: str,
    actor: Actor,
    call: str = PaymentCheck.Call.QUERY,
) -> PaymentCheck:
    """Written after the answer was applied (its own short insert): a question to the channel
    is kept whatever the answer, including the unknowns."""
    return PaymentCheck.objects.create(
        payment=payment,
        call=call,
        actor_kind=actor.kind,
        actor_ref=actor.ref[:200],
        answer=result.status,
        outcome=outcome,
        error=str(result.raw.get("error", ""))[:500],
        asked_at=asked_at,
    )
