"""Stores behind one interface, chosen by URI: `sqlite:///PATH` (default) or `mongodb://...`."""

from __future__ import annotations

from beacon.store.base import Access, Store, StoreUnavailable


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


__all__ = ["Access", "Store", "StoreUnavailable", "open_store"]
