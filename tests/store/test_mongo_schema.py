"""The MongoDB store's indexes and schema version: created on first use, checked by `check()`."""

from __future__ import annotations

import pytest

from beacon.store.base import StoreUnavailable
from beacon.store.mongo_state import RECORDS, SCHEMA_ID, SCHEMA_VERSION, STATE

# What the metadata queries need (see mongo_state.RECORD_INDEXES), written out by hand.
EXPECTED_INDEXES = {
    "by_dataset": [("entity", 1), ("dataset_id", 1), ("id", 1)],
    "by_id": [("entity", 1), ("id", 1)],
    "by_term": [("entity", 1), ("dataset_id", 1), ("terms.id", 1)],
    "by_text_value": [("entity", 1), ("dataset_id", 1), ("values.p", 1), ("values.s", 1)],
    "by_number_value": [("entity", 1), ("dataset_id", 1), ("values.p", 1), ("values.n", 1)],
    "by_load": [("load", 1)],
    "by_superseded": [("superseded_by", 1)],
}


def index_keys(store) -> dict[str, list[tuple[str, int]]]:
    information = store.database()[RECORDS].index_information()
    return {name: [(field, int(order)) for field, order in info["key"]] for name, info in information.items()}


def test_check_on_a_new_database_creates_indexes_and_records_the_version(mongo_store):
    mongo_store.check()
    indexes = index_keys(mongo_store)
    assert {name: indexes[name] for name in EXPECTED_INDEXES} == EXPECTED_INDEXES
    assert mongo_store.database()[STATE].find_one({"_id": SCHEMA_ID})["version"] == SCHEMA_VERSION


def test_a_first_write_creates_the_schema_too(mongo_store):
    from beacon.store.base import MetadataBatch

    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "A"}]}))
    assert set(EXPECTED_INDEXES) <= set(index_keys(mongo_store))


def test_creating_the_schema_twice_changes_nothing(mongo_store):
    mongo_store.check()
    before = index_keys(mongo_store)
    mongo_store._schema_ready = False
    mongo_store.check()
    assert index_keys(mongo_store) == before


def test_a_database_of_a_newer_beacon_is_not_ready(mongo_store):
    mongo_store.check()
    mongo_store.database()[STATE].update_one({"_id": SCHEMA_ID}, {"$set": {"version": SCHEMA_VERSION + 1}})
    with pytest.raises(StoreUnavailable, match="newer"):
        mongo_store.check()
