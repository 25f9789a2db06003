"""A simulated channel's private SQLite store: one connection, one lock, one transaction at a time.

The simulator is the third party's system, not Paycenter's, so it keeps its own file. All HTTP
threads and the notifier share a single connection; the lock makes every ``transaction()`` a
serial unit, which is what gives create/pay/refund their check-then-write atomicity.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

# The emulators' notifications and their attempt log (the sandbox keeps its own older shape).
EVENT_NOTIFICATION_TABLES = """
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


class SqliteStore:
    schema: ClassVar[str]
    # Columns added since a store's first release, by table: an older file gains them on open.
    added_columns: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(self.schema)
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
        for table, columns in self.added_columns.items():
            present = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns.items():
                if name not in present:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
