"""Store contract, metadata side: what every store must do, checked on each backend."""

from __future__ import annotations

import sqlite3

import pytest

from beacon.store.base import (
    DuplicateRecordError,
    RecordQuery,
    StoreUnavailable,
    TermCondition,
    UnknownDatasetError,
)
from beacon.store.mongo import state as mongo_state
from beacon.store.sqlite import SqliteStore, schema as sqlite_schema
from tests.store.conftest import metadata_batch as batch

FEMALE = {"id": "NCIT:C16576", "label": "female"}
MALE = {"id": "NCIT:C20197", "label": "male"}


def dataset(dataset_id: str) -> dict:
    return {"id": dataset_id, "name": f"Dataset {dataset_id}"}


def individual(individual_id: str, dataset_id: str, sex: dict) -> dict:
    return {"id": individual_id, "sex": sex, "datasetId": dataset_id}


@pytest.fixture
def two_datasets(any_store):
    any_store.put_metadata(
        batch(
            datasets=[dataset("A"), dataset("B")],
            individuals=[
                individual("a1", "A", FEMALE),
                individual("a2", "A", MALE),
                individual("a3", "A", FEMALE),
                individual("b1", "B", MALE),
            ],
        )
    )
    return any_store


def test_counts_and_records_are_per_dataset(two_datasets):
    assert two_datasets.count_records(RecordQuery("individuals", "A")) == 3
    assert two_datasets.count_records(RecordQuery("individuals", "B")) == 1
    found = two_datasets.find_records(RecordQuery("individuals", "A", limit=10))
    assert [record["id"] for record in found] == ["a1", "a2", "a3"]
    assert found[0] == individual("a1", "A", FEMALE)


def test_skip_and_limit_are_record_offsets(two_datasets):
    found = two_datasets.find_records(RecordQuery("individuals", "A", skip=1, limit=1))
    assert [record["id"] for record in found] == ["a2"]


def test_record_id_and_record_ids_narrow_the_query(two_datasets):
    assert two_datasets.count_records(RecordQuery("individuals", "A", record_id="a2")) == 1
    assert two_datasets.count_records(RecordQuery("individuals", "B", record_id="a2")) == 0
    query = RecordQuery("individuals", "A", record_ids=frozenset({"a1", "a3", "b1"}))
    assert [r["id"] for r in two_datasets.find_records(query)] == ["a1", "a3"]


def test_term_condition_matches_records_with_any_term(two_datasets):
    female = TermCondition(frozenset({"NCIT:C16576"}))
    either = TermCondition(frozenset({"NCIT:C16576", "NCIT:C20197"}))
    assert two_datasets.count_records(RecordQuery("individuals", "A", conditions=(female,))) == 2
    assert two_datasets.count_records(RecordQuery("individuals", "A", conditions=(either,))) == 3
    assert two_datasets.count_records(RecordQuery("individuals", "B", conditions=(female,))) == 0


def test_list_datasets_is_ordered_by_id(two_datasets):
    assert [d["id"] for d in two_datasets.list_datasets()] == ["A", "B"]


def test_duplicate_id_fails_and_writes_nothing(two_datasets):
    with pytest.raises(DuplicateRecordError) as raised:
        two_datasets.put_metadata(batch(individuals=[individual("new", "A", MALE), individual("a1", "A", MALE)]))
    assert (raised.value.entity, raised.value.record_id) == ("individuals", "a1")
    assert two_datasets.count_records(RecordQuery("individuals", "A")) == 3
    assert two_datasets.count_records(RecordQuery("individuals", "A", record_id="new")) == 0


def test_replace_overwrites_and_reindexes_terms(two_datasets):
    two_datasets.put_metadata(batch(individuals=[individual("a1", "A", MALE)]), replace=True)
    (record,) = two_datasets.find_records(RecordQuery("individuals", "A", record_id="a1"))
    assert record["sex"] == MALE
    female = TermCondition(frozenset({"NCIT:C16576"}))
    assert two_datasets.count_records(RecordQuery("individuals", "A", conditions=(female,))) == 1


def test_record_of_unknown_dataset_is_refused(two_datasets):
    with pytest.raises(UnknownDatasetError) as raised:
        two_datasets.put_metadata(batch(individuals=[individual("a9", "A", MALE), individual("x1", "NOPE", MALE)]))
    # The record naming it, so that a loader can tell the file and record number.
    assert (raised.value.dataset_id, raised.value.entity, raised.value.record_id) == ("NOPE", "individuals", "x1")
    assert two_datasets.count_records(RecordQuery("individuals", "NOPE")) == 0
    assert two_datasets.count_records(RecordQuery("individuals", "A", record_id="a9")) == 0


def test_remove_dataset_removes_everything_loaded_into_it(two_datasets):
    assert two_datasets.remove_dataset("A") is True
    assert [d["id"] for d in two_datasets.list_datasets()] == ["B"]
    assert two_datasets.count_records(RecordQuery("individuals", "A")) == 0
    assert two_datasets.count_records(RecordQuery("individuals", "B")) == 1
    assert two_datasets.remove_dataset("A") is False


def test_filtering_terms_follow_the_data(two_datasets):
    terms = {term.id: term for term in two_datasets.filtering_terms()}
    assert terms["NCIT:C16576"].label == "female"
    assert terms["NCIT:C16576"].scopes == ("individuals",)
    two_datasets.remove_dataset("A")
    remaining = {term.id for term in two_datasets.filtering_terms()}
    assert "NCIT:C16576" not in remaining  # only A had female individuals
    assert "NCIT:C20197" in remaining


def write_a_newer_schema_version(store) -> None:
    """Mark the store as written by a newer beacon, the way each backend records its schema version."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            conn.execute(f"PRAGMA user_version = {sqlite_schema.SCHEMA_VERSION + 1}")
    else:
        store.database()[mongo_state.STATE].update_one(
            {"_id": mongo_state.SCHEMA_ID}, {"$set": {"version": mongo_state.SCHEMA_VERSION + 1}}
        )


def test_check_passes_on_a_healthy_store(two_datasets):
    assert two_datasets.check() is None  # no StoreUnavailable
    assert two_datasets.count_records(RecordQuery("individuals", "A")) == 3
    # The same check refuses the store once its schema is not the one this beacon knows.
    write_a_newer_schema_version(two_datasets)
    with pytest.raises(StoreUnavailable, match="schema version"):
        two_datasets.check()
