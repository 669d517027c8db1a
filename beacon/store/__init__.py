"""Stores behind one interface, chosen by URI: `sqlite:///PATH` (default) or `mongodb://...`; so are the
counters of query budgets and rate limits (`beacon.store.limits`)."""

from __future__ import annotations

from pathlib import Path

from beacon.store.base import Access, Store, StoreUnavailable
from beacon.store.limits import LimitsStore


def open_store(uri: str, *, access: Access = "read") -> Store:
    """Open the store a URI names; raises ValueError for an unknown scheme.

    `access`: `read` (the server: the store must exist and is never changed), `write` (it must exist),
    `create` (loaders and `beacon init`: an SQLite file is created, a MongoDB database initialised).
    A reading store reports a missing or broken store when used, not here, so a server always starts.
    """
    if uri.startswith("sqlite:///"):
        from beacon.store.sqlite import SqliteStore

        return SqliteStore.from_uri(uri, access=access)
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        try:
            from beacon.store.mongo import MongoStore
        except ImportError as error:  # the MongoDB store arrives with its own issue
            raise StoreUnavailable("the MongoDB store is not available in this build") from error
        return MongoStore.from_uri(uri, read_only=access == "read")
    raise ValueError(f"unknown store URI {uri!r}: expected sqlite:///PATH or mongodb://...")


def default_limits_uri(store_uri: str) -> str:
    """The limits URI used when BEACON_LIMITS_URI is unset: a file beside an SQLite store, else the store's."""
    if store_uri.startswith("sqlite:///"):
        return f"sqlite:///{store_uri.removeprefix('sqlite:///')}.limits.sqlite"
    return store_uri


def open_limits(uri: str) -> LimitsStore:
    """The limits store a URI names (the SQLite file is created when missing)."""
    if uri.startswith("sqlite:///"):
        from beacon.store.sqlite.limits import SqliteLimits

        return SqliteLimits(Path(uri.removeprefix("sqlite:///")))
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        from beacon.store.mongo.limits import MongoLimits

        return MongoLimits.from_uri(uri)
    raise ValueError(f"unknown limits URI {uri!r}: expected sqlite:///PATH or mongodb://...")


__all__ = ["Access", "Store", "StoreUnavailable", "default_limits_uri", "open_limits", "open_store"]
