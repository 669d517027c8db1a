"""Opening the MongoDB store from a URI, and what an unreachable server looks like to callers.

The unreachable-server tests use real pymongo against a local port nothing listens on, so they need
no MongoDB and exercise the real connection and error paths.
"""

from __future__ import annotations

import socket

import pytest

from beacon.store import open_store
from beacon.store.base import MetadataBatch, RecordQuery, StoreUnavailable, VariantQuery
from beacon.store.mongo import MongoStore
from tests.store.conftest import open_mongo


@pytest.fixture(scope="module")
def closed_port() -> int:
    """A local TCP port with no listener (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("uri", "database", "where"),
    [
        ("mongodb://db.example:27017", "beacon", "db.example:27017"),
        ("mongodb://user:s3cret@db1:27017,db2:27017/node1?replicaSet=rs0", "node1", "db1:27017,db2:27017"),
        ("mongodb://u:p%40ss@localhost/beacon_eu?authSource=admin&tls=false", "beacon_eu", "localhost"),
        ("mongodb+srv://user:pw@cluster0.example.net/prod", "prod", "cluster0.example.net"),
    ],
)
def test_open_store_reads_database_and_hides_credentials(uri, database, where):
    store = open_store(uri)
    assert isinstance(store, MongoStore)
    assert store._database_name == database
    assert store.where == where  # what error messages name: never the user or the password


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("mongodb://localhost/bad.name", "database name"),
        ("mongodb://localhost/beacon?serverSelectionTimeoutMS=30000", "at most 4000"),
        ("mongodb://localhost/beacon?serverSelectionTimeoutMS=soon", "at most 4000"),
        ("mongodb://localhost/beacon?replicaSet=rs0&directConnection=true&ssl=maybe", "invalid MongoDB URI"),
    ],
)
def test_a_malformed_uri_is_a_clear_value_error(uri, words):
    with pytest.raises(ValueError, match=words):
        MongoStore.from_uri(uri)


def test_opening_does_not_touch_the_network(closed_port):
    store = MongoStore.from_uri(f"mongodb://127.0.0.1:{closed_port}/beacon?serverSelectionTimeoutMS=100")
    assert store._client is None  # a beacon whose database is down still starts
    store.close()


@pytest.mark.parametrize(
    "operation",
    [
        lambda store: store.check(),
        lambda store: store.list_datasets(),
        lambda store: store.count_records(RecordQuery("individuals", "A")),
        lambda store: store.find_records(RecordQuery("individuals", "A")),
        lambda store: store.filtering_terms(),
        lambda store: store.put_metadata(MetadataBatch({"datasets": [{"id": "A"}]})),
        lambda store: store.remove_dataset("A"),
        lambda store: store.count_variants(VariantQuery("A", kind="range", chromosome="1", start=0, end=9)),
        lambda store: store.find_variants(VariantQuery("A", kind="id", variant_id="v1")),
        lambda store: store.variant_assemblies(),
        lambda store: store.begin_variant_load("A"),
        lambda store: store.ontology_stamp(),
    ],
    ids=[
        "check", "list_datasets", "count", "find", "filtering_terms", "put_metadata", "remove_dataset",
        "count_variants", "find_variants", "variant_assemblies", "begin_variant_load", "ontology_stamp",
    ],
)  # fmt: skip
def test_an_unreachable_server_raises_store_unavailable_without_credentials(closed_port, operation):
    uri = f"mongodb://admin:hunter2@127.0.0.1:{closed_port}/beacon?serverSelectionTimeoutMS=150"
    store = MongoStore.from_uri(uri, query_timeout=0.15)  # the default is 1.5 s
    with pytest.raises(StoreUnavailable) as raised:
        operation(store)
    assert f"127.0.0.1:{closed_port}" in str(raised.value)
    assert "hunter2" not in str(raised.value) and "admin" not in str(raised.value)
    store.close()


def test_a_real_server_named_by_uri_answers(real_mongo):
    uri, database = real_mongo
    store = open_mongo(uri, database)
    store.check()
    assert store.list_datasets() == []
    store.close()


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("readPreference=secondaryPreferred", "reads must go to the primary"),
        ("readPreference=nearest", "reads must go to the primary"),
        ("w=1", "acknowledged by a majority"),
        ("w=0", "acknowledged by a majority"),
        ("journal=false", "journaled"),
        ("readConcernLevel=local", "majority-committed"),
    ],
)
def test_a_uri_weakening_reads_or_writes_is_refused(option, words):
    with pytest.raises(ValueError, match=words) as refused:
        MongoStore.from_uri(f"mongodb://u:secret@db1,db2/beacon?replicaSet=rs0&{option}")
    assert option.split("=")[0] in str(refused.value) and "secret" not in str(refused.value)


@pytest.mark.parametrize(
    "query", ["", "?w=majority&journal=true&readPreference=primary", "?readConcernLevel=majority&W=MAJORITY"]
)
def test_the_database_reads_from_the_primary_and_writes_to_a_journaled_majority(closed_port, query):
    store = MongoStore.from_uri(f"mongodb://127.0.0.1:{closed_port}/beacon{query}")
    db = store.database()  # a real pymongo client; nothing is sent yet
    assert db.write_concern.document == {"w": "majority", "j": True}
    assert db.read_preference.mongos_mode == "primary"
    assert db.read_concern.level == "majority"
    client = db.client  # the client itself, too, for any operation not made through the database
    assert client.write_concern.document == {"w": "majority", "j": True}
    assert client.read_preference.mongos_mode == "primary"
    store.close()


def test_a_store_on_a_given_client_gets_the_same_durability():
    import pymongo

    client = pymongo.MongoClient("mongodb://127.0.0.1:9/x?w=1&readPreference=secondary", connect=False)
    db = MongoStore.from_client(client, "beacon").database()
    assert db.write_concern.document == {"w": "majority", "j": True}
    assert db.read_preference.mongos_mode == "primary" and db.read_concern.level == "majority"
    client.close()
