"""The contract suite runs over every store: `any_store` is parametrised by backend.

Backends:
- `sqlite`: the embedded store, always;
- `mongomock-standin`: the MongoDB store's own code on a `mongomock` client. It exercises the
  query construction and the write protocol in CI, but mongomock is an in-memory imitation:
  a pass here is NOT evidence of behaviour on a real MongoDB server;
- `mongo`: the MongoDB store on a real server, only when BEACON_TEST_MONGO_URI is set
  (e.g. `mongodb://localhost:27017`); each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from beacon.store.base import MetadataBatch, Store
from beacon.store.mongo import MongoStore
from beacon.store.mongo.state import WriteOptions
from beacon.store.sqlite import SqliteStore

STORE_BACKENDS = [
    "sqlite",
    "mongomock-standin",
    pytest.param("mongo", marks=pytest.mark.mongo),
]

MONGO_BACKENDS = ["mongomock-standin", pytest.param("mongo", marks=pytest.mark.mongo)]

# Tests need clean-ups to run at the next write, not 30 s later; the protocol is the same.
TEST_WRITE_OPTIONS = WriteOptions(cleanup_grace=0.0, lock_wait=0.0)


def real_mongo_uri() -> str | None:
    """The test server's URI, or None (tests read the environment; the beacon itself does not)."""
    return os.environ.get("BEACON_TEST_MONGO_URI") or None


def unique_database_name() -> str:
    """A database name no other test (or test process) uses."""
    return f"beacon_test_{uuid.uuid4().hex[:16]}"


def open_mongo(uri: str, database: str, **options: object) -> MongoStore:
    """A MongoDB store on a real server, on the named database."""
    base, _, query = uri.partition("?")
    host_part = base.split("://", 1)[1].split("/", 1)[0]
    scheme = base.split("://", 1)[0]
    return MongoStore.from_uri(f"{scheme}://{host_part}/{database}" + (f"?{query}" if query else ""), **options)


def open_mongomock(database: str = "contract", **options: object) -> MongoStore:
    """The MongoDB store on a fresh mongomock client (a stand-in, see the module docstring)."""
    import mongomock

    return MongoStore.from_client(mongomock.MongoClient(), database, **options)


@pytest.fixture
def real_mongo() -> Iterator[tuple[str, str]]:
    """(URI, database) of a fresh database on the real test server, dropped afterwards; skips without one."""
    uri = real_mongo_uri()
    if uri is None:
        pytest.skip("no real MongoDB: set BEACON_TEST_MONGO_URI=mongodb://HOST:PORT to run this test against one")
    import pymongo

    database = unique_database_name()
    yield uri, database
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=4000)
    client.drop_database(database)
    client.close()


def open_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh, empty store of the named backend."""
    if name == "sqlite":
        return SqliteStore(tmp_path / "contract.sqlite")
    if name == "mongomock-standin":
        return open_mongomock(write_options=TEST_WRITE_OPTIONS)
    if name == "mongo":
        uri, database = request.getfixturevalue("real_mongo")
        return open_mongo(uri, database, write_options=TEST_WRITE_OPTIONS)
    raise ValueError(name)


@pytest.fixture(params=STORE_BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each backend in turn."""
    store = open_backend(request.param, request, tmp_path)
    yield store
    store.close()


@pytest.fixture(params=MONGO_BACKENDS)
def mongo_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MongoStore]:
    """An empty MongoDB store: the mongomock stand-in, and a real server when one is configured."""
    store = open_backend(request.param, request, tmp_path)
    assert isinstance(store, MongoStore)
    yield store
    store.close()


def metadata_batch(**records: list[dict]) -> MetadataBatch:
    """A MetadataBatch from entity=records keyword arguments (for the contract tests)."""
    result = MetadataBatch()
    for entity, items in records.items():
        result.add(entity, items)
    return result
