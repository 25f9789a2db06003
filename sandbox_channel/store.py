"""The sandbox's schema: trades, refunds, notifications and their attempts.

The connection discipline (one connection, one lock, one transaction at a time) is every simulated
channel's (``channel_sim.store``).
"""

from channel_sim.store import SqliteStore

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


class Store(SqliteStore):
    schema = SCHEMA
    added_columns = ADDED_COLUMNS
