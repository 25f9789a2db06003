"""What the services answered, in sentences finance staff can act on: an outcome code is never
shown raw, and a call whose channel did not answer is never worded as a success."""

from datetime import datetime

from django.utils.formats import date_format
from django.utils.timezone import localtime

from backoffice.actions import Result
from backoffice.last_word import ANSWER_SENTENCES
from payments.channels.base import TradeStatus
from payments.enums import RefundStatus
from payments.models import Payment, PaymentCheck, Refund
from payments.services.attempts import CloseOutcome
from payments.services.results import ApplyOutcome
from payments.templatetags.money import money


def when(moment: datetime | None) -> str:
    """One date format everywhere, in TIME_ZONE, with its offset."""
    return date_format(localtime(moment), "DATETIME_FORMAT") if moment else "—"


APPLIED = {
    ApplyOutcome.PAID: "the channel confirmed the payment: the order is paid",
    ApplyOutcome.DUPLICATE_REFUNDED: "the channel confirmed the payment, but another payment "
    "had already paid the order: this one is being refunded",
    ApplyOutcome.CLOSED_REFUNDED: "the channel confirmed the payment, but the order was "
    "closed: it is being refunded",
    ApplyOutcome.ALREADY_APPLIED: "the channel confirmed a payment already recorded: "
    "nothing changed",
    ApplyOutcome.MISMATCH: "the channel reported another amount or currency: nothing changed, "
    "a discrepancy is open",
    ApplyOutcome.MISMATCH_REFUNDED: "the channel took another amount: the attempt failed and "
    "what was taken is being refunded",
    ApplyOutcome.ATTEMPT_ENDED: "the channel closed the attempt: it can no longer be paid",
}
STILL_OPEN = {
    TradeStatus.PAYING: "the channel is still waiting for the buyer: nothing changed",
    TradeStatus.NOT_FOUND: "the channel has no such trade (yet): nothing changed",
}
CLOSED = {
    CloseOutcome.CLOSED: "closed at the channel: nothing more can be paid on it",
    CloseOutcome.SUCCEEDED: "the channel said the buyer had already paid: the payment is recorded",
    CloseOutcome.SUPERSEDED: "the channel cannot close it (or has no such trade yet): "
    "replaced, still checked, refunded if it ever succeeds",
}


def check_summary(check: PaymentCheck) -> str:
    """One question to the channel and what came of it, for the timeline."""
    said = ANSWER_SENTENCES.get(check.answer, check.answer)
    if check.call == PaymentCheck.Call.CLOSE:
        came = CLOSED.get(check.outcome, "no definite answer: the attempt stays open")
    else:
        came = APPLIED.get(check.outcome, "nothing changed")
    return f"{check.get_call_display()}: {said} → {came}"


def check_result(payment: Payment, outcome: ApplyOutcome, check: PaymentCheck) -> Result:
    """A re-query: what the channel said and what it changed."""
    if check.answer == TradeStatus.UNKNOWN:
        return _no_answer(payment, check)
    if outcome in APPLIED:
        done = outcome != ApplyOutcome.MISMATCH
        return Result(f"{APPLIED[outcome]} (payment {payment.get_status_display()})", done=done)
    said = STILL_OPEN.get(check.answer, f"the channel answered {check.answer}: nothing changed")
    return Result(f"{said}; still {payment.get_status_display()}, {_next_check(payment)}")


def close_result(payment: Payment, outcome: CloseOutcome, check: PaymentCheck | None) -> Result:
    if outcome == CloseOutcome.UNKNOWN:
        return _no_answer(payment, check, asked="close")
    if outcome == CloseOutcome.NOT_OPEN:
        return Result(
            f"it had already ended ({payment.get_status_display()}): nothing to close", done=False
        )
    return Result(f"{CLOSED[outcome]} (payment {payment.get_status_display()})")


def _no_answer(payment: Payment, check: PaymentCheck | None, asked: str = "query") -> Result:
    why = check.error if check is not None and check.error else "no definite answer"
    return Result(
        f"the channel did not answer the {asked} ({why}): still {payment.get_status_display()}, "
        f"{_next_check(payment)}",
        done=False,
    )


def _next_check(payment: Payment) -> str:
    if payment.next_check_at is None:
        return "no further check is scheduled"
    return f"will be checked again at {when(payment.next_check_at)}"


def refund_result(refund: Refund) -> Result:
    what = f"refund {refund.pk} of {money(refund.amount, refund.currency)}"
    if refund.status == RefundStatus.SUCCEEDED:
        return Result(f"{what}: the channel confirmed it, the money is on its way back")
    if refund.status == RefundStatus.FAILED:
        return Result(
            f"{what}: the channel refused it ({refund.last_error}): nothing was refunded",
            done=False,
        )
    why = f" ({refund.last_error})" if refund.last_error else ""
    return Result(
        f"{what}: sent, not confirmed by the channel yet{why}; asked again at "
        f"{when(refund.next_attempt_at)}",
        done=False,
    )
