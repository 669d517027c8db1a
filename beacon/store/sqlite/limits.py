"""Query budgets, rate-limit buckets and member budgets in a small writable SQLite file (beacon.store.limits).

A separate file, not a table of the store: the server opens the store read-only (`files.py`), and a
file of counters can be deleted at any time (every budget starts afresh). Workers serialise on the
file's write lock (`BEGIN IMMEDIATE`), so check and count are one step across processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from beacon.store.base import StoreUnavailable
from beacon.store.limits import Charge

T = TypeVar("T")
_IN_LIST = 500

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS budget_events (key TEXT NOT NULL, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS budget_events_key ON budget_events (key, expires)",
    "CREATE INDEX IF NOT EXISTS budget_events_expires ON budget_events (expires)",
    "CREATE TABLE IF NOT EXISTS rate_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS member_answers (key TEXT NOT NULL, biosample TEXT NOT NULL, total INTEGER NOT NULL, "
    "expires REAL NOT NULL, PRIMARY KEY (key, biosample))",
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

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` inside one write transaction: check and change are one step across processes."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    return work(connection)
                finally:
                    connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the limits file {self.path} failed: {error}") from None

    def spend(self, charges: Sequence[Charge], now: float) -> float | None:
        """Count one query against every charge's budget, all or none (see LimitsStore)."""
        return self._in_transaction(lambda connection: _spend(connection, charges, now))

    def take(self, key: str, rate: float, burst: int, now: float) -> float | None:
        """Take one request from the client's token bucket (see LimitsStore)."""
        return self._in_transaction(lambda connection: _take(connection, key, rate, burst, now))

    def member_counts(self, key: str, biosamples: Collection[str], now: float) -> dict[str, int]:
        """The unexpired counts of these members under `key` (see LimitsStore).

        A plain read, without the write lock every other worker waits on: a charge checks the counts
        again inside its own transaction (`add_member_answers`), so a stale read is caught there."""
        with self._lock:
            try:
                return _member_counts(self._connect(), key, biosamples, now)
            except sqlite3.Error as error:
                raise StoreUnavailable(f"the limits file {self.path} failed: {error}") from None

    def add_member_answers(
        self, key: str, decided: Mapping[str, int], seen: Mapping[str, int], window: float, now: float
    ) -> frozenset[str]:
        """Add decided answers if the counts are still `seen`, all or none (see LimitsStore)."""

        def add(connection: sqlite3.Connection) -> frozenset[str]:
            connection.execute("DELETE FROM member_answers WHERE key = ? AND expires <= ?", (key, now))
            current = _member_counts(connection, key, list(decided), now)
            changed = frozenset(b for b in decided if current.get(b, 0) != seen.get(b, 0))
            if not changed:
                connection.executemany(
                    "INSERT INTO member_answers VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key, biosample) DO UPDATE SET total = total + excluded.total",
                    [(key, biosample, count, now + window) for biosample, count in decided.items()],
                )
            return changed

        return self._in_transaction(add)

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None


def _member_counts(connection: sqlite3.Connection, key: str, biosamples: Collection[str], now: float) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = list(biosamples)
    for first in range(0, len(wanted), _IN_LIST):  # SQLite allows so many bound values per statement
        chunk = wanted[first : first + _IN_LIST]
        marks = ", ".join("?" * len(chunk))
        rows = connection.execute(
            f"SELECT biosample, total FROM member_answers WHERE key = ? AND expires > ? AND biosample IN ({marks})",
            (key, now, *chunk),
        )
        found.update((biosample, int(total)) for biosample, total in rows)
    return found


def _take(connection: sqlite3.Connection, key: str, rate: float, burst: int, now: float) -> float | None:
    row = connection.execute("SELECT tokens, at FROM rate_buckets WHERE key = ?", (key,)).fetchone()
    tokens = float(burst) if row is None else min(burst, row[0] + max(0.0, now - row[1]) * rate)
    wait = None if tokens >= 1 else (1 - tokens) / rate
    tokens = tokens - 1 if wait is None else tokens
    connection.execute("INSERT OR REPLACE INTO rate_buckets VALUES (?, ?, ?)", (key, tokens, now))
    return wait


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
