"""The read-only test door ``GET /_emulator/ledger?since=<unix seconds>`` of the emulators: every
capture and every succeeded refund of the trades created since then, shaped as the sandbox's
statement lines (``type`` payment|refund, ``out_trade_no``, ``out_refund_no``, ``amount`` in
minor units, ``time``), whatever the day.

A check that judges Paycenter against the channel's own records (``manage.py chaos``) reads the
emulators this way: their bills are per Beijing day, signed and fault-prone, and a run that
crosses midnight would have to stitch them. Each emulator's query selects from its own tables.
"""

import math
import sqlite3
from collections.abc import Mapping
from typing import Any


def since_of(query: Mapping[str, str]) -> float:
    """The door's ``since`` (0 when absent); ValueError unless it is a finite number."""
    since = float(query.get("since") or 0)
    if not math.isfinite(since):
        raise ValueError(f"since must be unix seconds, not {since}")
    return since


def ledger_lines(conn: sqlite3.Connection, query: str, since: float) -> list[dict[str, Any]]:
    """The lines ``query`` selects (it takes ``:since``), oldest first."""
    lines = [dict(row) for row in conn.execute(query, {"since": since}).fetchall()]
    return sorted(lines, key=lambda line: (line["time"], line["type"]))
