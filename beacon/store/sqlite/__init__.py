"""The embedded SQLite store: one file per node, the default backend."""

from beacon.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
