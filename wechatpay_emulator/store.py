"""The WeChat Pay emulator's schema: trades and refunds, and every emulator's notification tables.

The connection discipline (one connection, one lock, one transaction at a time) is every simulated
channel's (``channel_sim.store``).
"""

from channel_sim.store import EVENT_NOTIFICATION_TABLES, SqliteStore

SCHEMA = (
    """
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
"""
    + EVENT_NOTIFICATION_TABLES
)


class Store(SqliteStore):
    """Every simulated channel's connection discipline over WeChat's schema."""

    schema = SCHEMA
