"""Alipay's trades and (synchronous) refunds, in its own SQLite file; the notification tables and
the connection discipline are every emulator's (``channel_sim.store``)."""

from channel_sim.store import EVENT_NOTIFICATION_TABLES, SqliteStore

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS trades (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    out_trade_no   TEXT NOT NULL UNIQUE,
    trade_no       TEXT NOT NULL UNIQUE,
    wallet_id      TEXT NOT NULL UNIQUE,
    product_code   TEXT NOT NULL CHECK (product_code IN ('FACE_TO_FACE_PAYMENT', 'QUICK_WAP_WAY')),
    trade_status   TEXT NOT NULL CHECK (trade_status IN
                   ('WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED')),
    -- 0 while a pre-created QR trade exists only as its code: query, close, refund: not found
    opened         INTEGER NOT NULL CHECK (opened IN (0, 1)),
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    notify_url     TEXT,
    return_url     TEXT,
    quit_url       TEXT,
    total          INTEGER NOT NULL CHECK (total > 0),
    refunded       INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
    fingerprint    TEXT NOT NULL,
    time_expire    REAL NOT NULL,
    created_at     REAL NOT NULL,
    paid_at        REAL,
    closed_at      REAL,
    buyer_user_id  TEXT,
    buyer_logon_id TEXT
);
CREATE INDEX IF NOT EXISTS trades_paid_at ON trades (paid_at);

CREATE TABLE IF NOT EXISTS refunds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id       INTEGER NOT NULL REFERENCES trades (id),
    out_request_no TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    reason         TEXT NOT NULL,
    refunded_at    REAL NOT NULL,
    UNIQUE (trade_id, out_request_no)
);
CREATE INDEX IF NOT EXISTS refunds_refunded_at ON refunds (refunded_at);
"""
    + EVENT_NOTIFICATION_TABLES
)


class Store(SqliteStore):
    """Every simulated channel's connection discipline over Alipay's schema."""

    schema = SCHEMA
