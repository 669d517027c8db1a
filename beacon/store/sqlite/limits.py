"""Query budgets and rate-limit buckets in a small writable SQLite file (see beacon.store.limits).

A separate file, not a table of the store: the server opens the store read-only (`files.py`), and a
file of counters can be deleted at any time (every budget starts afresh). Workers serialise on the
file's write lock (`BEGIN IMMEDIATE`), so check and count are one step across processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from beacon.store.base import StoreUnavailable
from beacon.store.limits import Charge

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS budget_events (key TEXT NOT NULL, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS budget_events_key ON budget_events (key, expires)",
    "CREATE INDEX IF NOT EXISTS budget_events_expires ON budget_events (expires)",
    "CREATE TABLE IF NOT EXISTS rate_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL)",
)


class SqliteLimits:
    """Budgets and buckets in one SQLite file; safe across threads (a lock) and processes (the file lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0

    def _connect(self) -> sqlite3.Connection:
        # A connection made before gunicorn forks must not be shared with the workers.
        if self._connection is None or self._pid != os.getpid():
            try:
                connection = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                for statement in _SCHEMA:
                    connection.execute(statement)
            except sqlite3.Error as error:
                raise StoreUnavailable(f"cannot open the limits file {self.path}: {error}") from None
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def spend(self, charges: Sequence[Charge], now: float) -> float | None:
        """Count one query against every charge's budget, all or none (see LimitsStore)."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    wait = _spend(connection, charges, now)
                finally:
                    connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the limits file {self.path} failed: {error}") from None
        return wait

    def take(self, key: str, rate: float, burst: int, now: float) -> float | None:
        """Take one request from the client's token bucket (see LimitsStore)."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    row = connection.execute("SELECT tokens, at FROM rate_buckets WHERE key = ?", (key,)).fetchone()
                    tokens = float(burst) if row is None else min(burst, row[0] + max(0.0, now - row[1]) * rate)
                    wait = None if tokens >= 1 else (1 - tokens) / rate
                    tokens = tokens - 1 if wait is None else tokens
                    connection.execute("INSERT OR REPLACE INTO rate_buckets VALUES (?, ?, ?)", (key, tokens, now))
                finally:
                    connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the limits file {self.path} failed: {error}") from None
        return wait

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None


def _spend(connection: sqlite3.Connection, charges: Sequence[Charge], now: float) -> float | None:
    connection.execute("DELETE FROM budget_events WHERE expires <= ?", (now,))
    waits = []
    for charge in charges:
        used, oldest = connection.execute(
            "SELECT count(*), min(expires) FROM budget_events WHERE key = ? AND expires > ?", (charge.key, now)
        ).fetchone()
        if used >= charge.limit:
            waits.append(oldest - now if oldest is not None else charge.window)
    if waits:
        return max(waits)
    connection.executemany(
        "INSERT INTO budget_events VALUES (?, ?)", [(charge.key, now + charge.window) for charge in charges]
    )
    return None
