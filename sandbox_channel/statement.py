"""The daily statement: every payment and every succeeded refund of one UTC day, as CSV."""

import csv
import io
from datetime import date

from . import clock, refunds
from .store import Store

HEADER = (
    "type",
    "channel",
    "trade_no",
    "out_trade_no",
    "out_refund_no",
    "refund_no",
    "amount",
    "currency",
    "status",
    "time",
)


def statement_csv(store: Store, day: date, channel: str | None) -> str:
    start, end = clock.utc_day_bounds(day)
    params = {"start": start, "end": end, "channel": channel}
    with store.transaction() as conn:
        refunds.settle_due(conn, clock.now())
        payments = conn.execute(
            "SELECT 'payment' AS type, channel, trade_no, out_trade_no, '' AS out_refund_no,"
            " '' AS refund_no, amount, currency, 'SUCCESS' AS status, paid_at AS time"
            " FROM trades WHERE paid_at >= :start AND paid_at < :end"
            " AND (:channel IS NULL OR channel = :channel)",
            params,
        ).fetchall()
        refund_rows = conn.execute(
            "SELECT 'refund' AS type, trades.channel, trade_no, trades.out_trade_no,"
            " refunds.out_refund_no, refunds.refund_no, refunds.amount, trades.currency,"
            " refunds.status, refunds.succeeded_at AS time"
            " FROM refunds JOIN trades USING (trade_no)"
            " WHERE refunds.status = 'SUCCESS' AND succeeded_at >= :start AND succeeded_at < :end"
            " AND (:channel IS NULL OR trades.channel = :channel)",
            params,
        ).fetchall()
    lines = sorted(payments + refund_rows, key=lambda row: (row["time"], row["type"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in lines:
        writer.writerow([*tuple(row)[:-1], clock.iso(row["time"])])
    return out.getvalue()
