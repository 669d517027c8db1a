"""The contract suite runs over every store: `any_store` is parametrised by backend.

Backends: `sqlite` (always), and the MongoDB store where it is available (see its issue): a real
server when BEACON_TEST_MONGO_URI is set, and otherwise a `mongomock` stand-in, labelled as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from beacon.store.base import Store
from beacon.store.sqlite import SqliteStore

STORE_BACKENDS = ["sqlite"]


def open_backend(name: str, tmp_path: Path) -> Store:
    """A fresh, empty store of the named backend."""
    if name == "sqlite":
        return SqliteStore(tmp_path / "contract.sqlite")
    raise ValueError(name)


@pytest.fixture(params=STORE_BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each backend in turn."""
    store = open_backend(request.param, tmp_path)
    yield store
    store.close()
