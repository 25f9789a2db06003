"""Discrepancies: what a channel said that does not match our books, kept for finance staff
(who resolve them in reconciliation)."""

import logging

from payments.models import Discrepancy

logger = logging.getLogger(__name__)


def discrepancy_record(
    *, channel: str, kind: str, out_trade_no: str = "", payment=None, refund=None, details: dict
) -> Discrepancy:
    """Record a mismatch for finance staff and alert. Runs inside the caller's transaction."""
    discrepancy = Discrepancy.objects.create(
        channel=channel,
        kind=kind,
        out_trade_no=out_trade_no,
        payment=payment,
        refund=refund,
        details=details,
    )
    logger.error(
        "discrepancy %s channel=%s out_trade_no=%s details=%s", kind, channel, out_trade_no, details
    )
    return discrepancy
