"""The record of every active query and its outcome, shown on the back office's timeline."""

from datetime import datetime

from orders.audit import Actor
from payments.channels.base import TradeResult
from payments.models import Payment, PaymentCheck


def payment_check_record(
    *, payment: Payment, asked_at: datetime, result: TradeResult, outcome: str, actor: Actor
) -> PaymentCheck:
    """Written after the answer was applied (its own short insert): a query is a read of the
    channel, so it is kept whatever the answer, including the unknowns."""
    return PaymentCheck.objects.create(
        payment=payment,
        actor_kind=actor.kind,
        actor_ref=actor.ref[:200],
        answer=result.status,
        outcome=outcome,
        error=str(result.raw.get("error", ""))[:500],
        asked_at=asked_at,
    )
