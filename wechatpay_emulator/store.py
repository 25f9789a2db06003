"""The emulator's private SQLite store: one connection, one lock, one transaction at a time.

WeChat Pay is a third party, not part of Paycenter, so it keeps its own file. The lock makes every
``transaction()`` a serial unit, which gives create/pay/refund their check-then-write atomicity.
"""

import sqlite3
import threading
from pathlib import Path

from sandbox_channel.store import Store as SandboxStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    out_trade_no   TEXT NOT NULL UNIQUE,
    prepay_id      TEXT NOT NULL UNIQUE,
    transaction_id TEXT UNIQUE,
    trade_type     TEXT NOT NULL CHECK (trade_type IN ('NATIVE', 'H5')),
    trade_state    TEXT NOT NULL
                   CHECK (trade_state IN ('NOTPAY', 'SUCCESS', 'CLOSED', 'REFUND', 'PAYERROR')),
    appid          TEXT NOT NULL,
    mchid          TEXT NOT NULL,
    description    TEXT NOT NULL,
    attach         TEXT NOT NULL,
    notify_url     TEXT NOT NULL,
    total          INTEGER NOT NULL CHECK (total > 0),
    currency       TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    time_expire    REAL NOT NULL,
    created_at     REAL NOT NULL,
    paid_at        REAL,
    closed_at      REAL,
    payer_openid   TEXT
);
CREATE INDEX IF NOT EXISTS trades_paid_at ON trades (paid_at);

CREATE TABLE IF NOT EXISTS refunds (
    refund_id     TEXT PRIMARY KEY,
    out_refund_no TEXT NOT NULL UNIQUE,
    trade_id      INTEGER NOT NULL REFERENCES trades (id),
    refund        INTEGER NOT NULL CHECK (refund > 0),
    notify_url    TEXT,
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL
                  CHECK (status IN ('PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
    final_status  TEXT NOT NULL CHECK (final_status IN ('SUCCESS', 'CLOSED', 'ABNORMAL')),
    created_at    REAL NOT NULL,
    settles_at    REAL NOT NULL,
    success_time  REAL
);
CREATE INDEX IF NOT EXISTS refunds_trade ON refunds (trade_id);
CREATE INDEX IF NOT EXISTS refunds_settling ON refunds (status, settles_at);

CREATE TABLE IF NOT EXISTS notifications (
    id              TEXT PRIMARY KEY,
    event_type      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    url             TEXT NOT NULL,
    body            BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'abandoned')),
    next_attempt_at REAL,
    created_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at);

CREATE TABLE IF NOT EXISTS notify_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    notification  TEXT NOT NULL REFERENCES notifications (id),
    event_type    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('dropped', 'sent', 'failed', 'delivered')),
    http_status   INTEGER,
    response_body TEXT,
    at            REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notify_attempts_subject ON notify_attempts (subject);
"""


class Store(SandboxStore):
    """The sandbox's connection discipline (one lock, BEGIN IMMEDIATE) over WeChat's schema."""

    def __init__(self, path: Path):  # the sandbox's __init__ would create its own tables
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
