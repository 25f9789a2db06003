"""What a payment's channel last said, in words for finance staff (the annotations and the
conditions they filter on are reconciliation/last_word.py)."""

from payments.channels.base import TradeStatus
from payments.models import PaymentCheck

ANSWER_SENTENCES = {
    None: "not asked yet",
    TradeStatus.UNKNOWN: "no definite answer",
    TradeStatus.SUCCEEDED: "paid at the channel",
    TradeStatus.PAYING: "waiting for the buyer to pay",
    TradeStatus.NOT_FOUND: "no such trade at the channel (the buyer never opened it)",
    TradeStatus.CLOSED: "closed at the channel",
    TradeStatus.FAILED: "failed at the channel",
}


def last_word_sentence(payment) -> str:
    """What the channel last said about an annotated payment, for people."""
    said = ANSWER_SENTENCES.get(payment.last_answer, payment.last_answer)
    if payment.last_answer == TradeStatus.SUCCEEDED:
        said = f"{said}, not applied here"  # the payment is still open
    if payment.last_call == PaymentCheck.Call.CLOSE:
        said = f"asked to close: {said}"
    return f"{said} ({payment.last_error})" if payment.last_error else said
