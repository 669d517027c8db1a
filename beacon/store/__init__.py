"""Stores behind one interface, chosen by URI: `sqlite:///PATH` (default) or `mongodb://...`."""

from __future__ import annotations

from beacon.store.base import Store, StoreUnavailable


def open_store(uri: str) -> Store:
    """Open the store a URI names; raises ValueError for an unknown scheme."""
    if uri.startswith("sqlite:///"):
        from beacon.store.sqlite import SqliteStore

        return SqliteStore.from_uri(uri)
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        try:
            from beacon.store.mongo import MongoStore
        except ImportError as error:  # the MongoDB store arrives with its own issue
            raise StoreUnavailable("the MongoDB store is not available in this build") from error
        return MongoStore.from_uri(uri)
    raise ValueError(f"unknown store URI {uri!r}: expected sqlite:///PATH or mongodb://...")


__all__ = ["Store", "StoreUnavailable", "open_store"]
