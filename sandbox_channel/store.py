"""The channel's private SQLite store: one connection, one lock, one transaction at a time.

The simulator is the third party's system, not Paycenter's, so it keeps its own file. All HTTP
threads and the notifier share a single connection; the lock makes every ``transaction()`` a
serial unit, which is what gives create/pay/refund their check-then-write atomicity.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
    trade_no      TEXT PRIMARY KEY,
    out_trade_no  TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('WAITING', 'SUCCESS', 'CLOSED')),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    currency      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    notify_url    TEXT NOT NULL,
    return_url    TEXT,
    time_expire   REAL NOT NULL,
    created_at    REAL NOT NULL,
    paid_at       REAL,
    closed_at     REAL,
    -- 1 while a lazy trade exists only as a pre-created QR code (query and close: not found)
    precreated    INTEGER NOT NULL DEFAULT 0 CHECK (precreated IN (0, 1))
);
CREATE INDEX IF NOT EXISTS trades_paid_at ON trades (paid_at);

CREATE TABLE IF NOT EXISTS refunds (
    refund_no     TEXT PRIMARY KEY,
    out_refund_no TEXT NOT NULL UNIQUE,
    trade_no      TEXT NOT NULL REFERENCES trades (trade_no),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    status        TEXT NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAILED')),
    final_status  TEXT NOT NULL CHECK (final_status IN ('SUCCESS', 'FAILED')),
    created_at    REAL NOT NULL,
    settles_at    REAL NOT NULL,
    succeeded_at  REAL,
    notify_url    TEXT
);
CREATE INDEX IF NOT EXISTS refunds_trade ON refunds (trade_no);
CREATE INDEX IF NOT EXISTS refunds_settling ON refunds (status, settles_at);

CREATE TABLE IF NOT EXISTS notifications (
    notify_id       TEXT PRIMARY KEY,
    trade_no        TEXT NOT NULL REFERENCES trades (trade_no),
    out_trade_no    TEXT NOT NULL,
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
    notify_id     TEXT NOT NULL REFERENCES notifications (notify_id),
    out_trade_no  TEXT NOT NULL,
    url           TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    nonce         TEXT,
    status        TEXT NOT NULL CHECK (status IN ('dropped', 'sent', 'failed', 'delivered')),
    http_status   INTEGER,
    response_body TEXT,
    at            REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notify_attempts_trade ON notify_attempts (out_trade_no);
"""

# Columns added since the first release: a store written by an older sandbox gains them on open.
ADDED_COLUMNS = {
    "trades": {
        "precreated": "INTEGER NOT NULL DEFAULT 0 CHECK (precreated IN (0, 1))",
    },
    "refunds": {"notify_url": "TEXT"},
}


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
        self._add_missing_columns()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Exclusive access to the connection inside BEGIN IMMEDIATE … COMMIT/ROLLBACK."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _add_missing_columns(self) -> None:
        for table, columns in ADDED_COLUMNS.items():
            present = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns.items():
                if name not in present:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
