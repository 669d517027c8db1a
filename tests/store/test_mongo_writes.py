"""The MongoDB write protocol step by step: what readers see before, at and after each step, and crashes.

Each test drives the protocol functions of `beacon.store.mongo.state` itself where a writer would be
interrupted (a crash is simply a writer that stops calling them), and checks what the store's readers
see. The documents a writer inserts are written out by hand here.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from beacon.store.base import RecordQuery
from beacon.store.mongo import state
from beacon.store.mongo.queries import Visibility, record_filter
from beacon.store.mongo.state import RECORDS, STATE, LostLock, StoreBusy
from beacon.store.mongo.summaries import write_summaries
from tests.store.conftest import metadata_batch as batch

A_INDIVIDUALS = RecordQuery("individuals", "A")


def stored(load: str, record: dict) -> dict:
    """The document a writer with this load id inserts for an individual (by hand, no store code)."""
    return {
        "entity": "individuals",
        "id": record["id"],
        "dataset_id": record["datasetId"],
        "load": load,
        "doc": record,
        "terms": [],
        "values": [],
    }


@pytest.fixture
def store_a(mongo_store):
    """A store with dataset A holding individual a1 (version 1)."""
    mongo_store.put_metadata(
        batch(datasets=[{"id": "A"}], individuals=[{"id": "a1", "datasetId": "A", "v": 1}]),
    )
    return mongo_store


def state_document(store) -> dict:
    return store.database()[STATE].find_one({"_id": state.METADATA_ID})


def test_inserted_records_stay_invisible_until_the_commit(store_a):
    db, options = store_a.database(), store_a.write_options
    state.acquire_lock(db, "L1", options)
    new = [stored("L1", {"id": f"n{i}", "datasetId": "A"}) for i in range(3)]
    db[RECORDS].insert_many(new)
    write_summaries(db, RECORDS, new, state.read_visibility(db), "L1")  # as put_metadata does before its commit
    assert store_a.count_records(A_INDIVIDUALS) == 1
    state.flip(db, "L1", {"$push": {"committed": {"load": "L1", "at": time.time()}}})
    assert store_a.count_records(A_INDIVIDUALS) == 4
    assert "lock" not in state_document(store_a)


def test_a_replaced_record_changes_in_one_step(store_a):
    db, options = store_a.database(), store_a.write_options
    (old,) = db[RECORDS].find({"id": "a1"}, {"_id": 1})
    state.acquire_lock(db, "L2", options)
    db[RECORDS].insert_one(stored("L2", {"id": "a1", "datasetId": "A", "v": 2}))
    db[RECORDS].update_one({"_id": old["_id"]}, {"$set": {"superseded_by": "L2"}})
    assert store_a.find_records(A_INDIVIDUALS) == [{"id": "a1", "datasetId": "A", "v": 1}]
    state.flip(db, "L2", {"$push": {"committed": {"load": "L2", "at": time.time()}}})
    assert store_a.find_records(A_INDIVIDUALS) == [{"id": "a1", "datasetId": "A", "v": 2}]


def test_a_reader_holding_the_state_from_before_a_commit_sees_one_version(store_a):
    db = store_a.database()
    before = state.read_visibility(db)
    store_a.put_metadata(batch(individuals=[{"id": "a1", "datasetId": "A", "v": 2}]), replace=True)
    after = state.read_visibility(db)
    for visibility, version in ((before, 1), (after, 2)):
        found = [document["doc"]["v"] for document in db[RECORDS].find(record_filter(A_INDIVIDUALS, visibility))]
        assert found == [version]


def test_clean_up_waits_for_the_grace_period(store_a):
    store_a.write_options = dataclasses.replace(store_a.write_options, cleanup_grace=3600)
    store_a.put_metadata(batch(individuals=[{"id": "a1", "datasetId": "A", "v": 2}]), replace=True)
    store_a.put_metadata(batch(individuals=[{"id": "a2", "datasetId": "A"}]))
    assert len(state_document(store_a)["committed"]) == 3  # the fixture's load too: none is settled yet
    assert store_a.database()[RECORDS].count_documents({"id": "a1"}) == 2
    assert [r["v"] for r in store_a.find_records(RecordQuery("individuals", "A", record_id="a1"))] == [2]


def test_clean_up_after_the_grace_period_leaves_only_live_records(store_a):
    store_a.put_metadata(batch(individuals=[{"id": "a1", "datasetId": "A", "v": 2}]), replace=True)
    assert store_a.remove_dataset("A")
    store_a.put_metadata(batch(datasets=[{"id": "B"}]))
    db = store_a.database()
    state.clean_up(db, store_a.write_options)  # what the next writer does first (the grace is 0 here)
    assert [d["id"] for d in store_a.list_datasets()] == ["B"]
    assert sorted(db[RECORDS].distinct("load")) == ["live"]
    assert db[RECORDS].count_documents({"superseded_by": {"$exists": True}}) == 0
    assert db[RECORDS].count_documents({"dataset_id": "A"}) == 0
    document = state_document(store_a)
    assert (document["committed"], document["removed"], document.get("abandoned", [])) == ([], [], [])


def test_a_writer_that_died_changes_nothing_and_is_cleaned_up(store_a):
    db = store_a.database()
    dying = dataclasses.replace(store_a.write_options, lock_lease=0.0)
    state.acquire_lock(db, "DEAD", dying)
    db[RECORDS].insert_one(stored("DEAD", {"id": "ghost", "datasetId": "A"}))
    db[RECORDS].update_many({"id": "a1"}, {"$set": {"superseded_by": "DEAD"}})
    assert [r["id"] for r in store_a.find_records(A_INDIVIDUALS)] == ["a1"]  # the crash shows nowhere
    store_a.put_metadata(batch(individuals=[{"id": "a2", "datasetId": "A"}]))  # takes over the expired lock
    assert [r["id"] for r in store_a.find_records(A_INDIVIDUALS)] == ["a1", "a2"]
    assert db[RECORDS].count_documents({"$or": [{"load": "DEAD"}, {"superseded_by": "DEAD"}]}) == 0
    assert state_document(store_a).get("abandoned", []) == []


def test_a_held_lock_turns_a_second_writer_away_with_nothing_written(store_a):
    db = store_a.database()
    state.acquire_lock(db, "HOLDER", store_a.write_options)
    with pytest.raises(StoreBusy, match="another load"):
        store_a.put_metadata(batch(individuals=[{"id": "a2", "datasetId": "A"}]))
    with pytest.raises(StoreBusy):
        store_a.remove_dataset("A")
    state.release_lock(db, "HOLDER")
    assert store_a.count_records(A_INDIVIDUALS) == 1
    store_a.put_metadata(batch(individuals=[{"id": "a2", "datasetId": "A"}]))
    assert store_a.count_records(A_INDIVIDUALS) == 2


def test_a_writer_whose_expired_lock_was_taken_over_cannot_commit(store_a):
    db = store_a.database()
    state.acquire_lock(db, "SLOW", dataclasses.replace(store_a.write_options, lock_lease=0.0))
    db[RECORDS].insert_one(stored("SLOW", {"id": "late", "datasetId": "A"}))
    state.acquire_lock(db, "FAST", store_a.write_options)
    with pytest.raises(LostLock):
        state.refresh_lock(db, "SLOW", store_a.write_options)
    with pytest.raises(LostLock):
        state.flip(db, "SLOW", {"$push": {"committed": {"load": "SLOW", "at": time.time()}}})
    assert state_document(store_a)["lock"]["owner"] == "FAST"
    assert "SLOW" in state_document(store_a)["abandoned"]
    assert store_a.count_records(A_INDIVIDUALS) == 1


def test_a_refused_batch_writes_no_document(store_a):
    before = store_a.database()[RECORDS].count_documents({})
    with pytest.raises(TypeError):
        store_a.put_metadata(batch(individuals=[{"id": "a2", "datasetId": "A", "tags": {"not", "json"}}]))
    assert store_a.database()[RECORDS].count_documents({}) == before
    assert "lock" not in state_document(store_a)


def test_a_removal_is_one_step_and_a_reload_waits_for_it_to_settle(store_a):
    store_a.write_options = dataclasses.replace(store_a.write_options, cleanup_grace=0.2)
    assert store_a.remove_dataset("A")
    assert store_a.count_records(A_INDIVIDUALS) == 0 and store_a.list_datasets() == []
    assert store_a.database()[RECORDS].count_documents({"dataset_id": "A"}) == 2  # deleted later
    assert store_a.remove_dataset("A") is False
    store_a.put_metadata(batch(datasets=[{"id": "A"}], individuals=[{"id": "a9", "datasetId": "A"}]))
    assert [r["id"] for r in store_a.find_records(A_INDIVIDUALS)] == ["a9"]
    assert state_document(store_a)["removed"] == []


def test_visibility_of_an_empty_database_shows_nothing(mongo_store):
    assert state.read_visibility(mongo_store.database()) == Visibility()
    assert mongo_store.list_datasets() == [] and mongo_store.filtering_terms() == []


def test_the_lock_can_be_taken_before_the_state_document_exists(mongo_store):
    db = mongo_store.database()
    state.acquire_lock(db, "FIRST", mongo_store.write_options)
    assert state_document(mongo_store)["lock"]["owner"] == "FIRST"
    with pytest.raises(StoreBusy):
        state.acquire_lock(db, "SECOND", mongo_store.write_options)
