"""Store contract, metadata side, continued: records are data, kept exactly, whatever their keys and ids."""

from __future__ import annotations

import json

import pytest

from beacon.store.base import DuplicateRecordError, RecordQuery, TermCondition, UnknownDatasetError
from tests.store.conftest import metadata_batch as batch

# Keys a document store uses itself or reads as syntax; a record may still hold them.
AWKWARD_RECORD = {
    "id": "odd1",
    "datasetId": "A",
    "_id": "not the store's",
    "$where": "sleep(10000)",
    "$ne": {"$gt": ""},
    "a.b": {"c.d": [1, {"$set": None}]},
    "%": "%25",
    "%int": "7",
    "": "empty key",
    "load": "live",
    "doc": {"terms": [], "values": []},
    "big": 2**70,
    "negative": -(2**64),
    "numbers": [0, -0.5, 1.5e300, True, False, None],
    "text": "Ünïcödé ✓ \U0001d518",
    "nul\x00key": "nul\x00value",
}


@pytest.fixture
def dataset_a(any_store):
    any_store.put_metadata(batch(datasets=[{"id": "A", "name": "A"}]))
    return any_store


def test_records_round_trip_exactly_whatever_their_keys(dataset_a):
    dataset_a.put_metadata(batch(individuals=[AWKWARD_RECORD]))
    (found,) = dataset_a.find_records(RecordQuery("individuals", "A", record_id="odd1"))
    assert found == AWKWARD_RECORD
    # Same key order and the same JSON types (True stays true, not 1; ints stay ints).
    assert json.dumps(found) == json.dumps(AWKWARD_RECORD)


def test_ids_that_look_like_operators_are_plain_data(dataset_a):
    ids = ["$ne", '{"$ne": null}', "$where", "a.b", ".*", "%"]
    dataset_a.put_metadata(batch(individuals=[{"id": record_id, "datasetId": "A"} for record_id in ids]))
    for record_id in ids:
        found = dataset_a.find_records(RecordQuery("individuals", "A", record_id=record_id))
        assert [record["id"] for record in found] == [record_id]
    assert dataset_a.count_records(RecordQuery("individuals", "$ne")) == 0  # a dataset id, literally
    assert dataset_a.count_records(RecordQuery("individuals", "A", record_ids=frozenset({"$ne", "nothing"}))) == 1


def test_a_batch_naming_an_id_twice_is_a_duplicate_unless_replacing(dataset_a):
    twice = [{"id": "x", "datasetId": "A", "v": 1}, {"id": "x", "datasetId": "A", "v": 2}]
    with pytest.raises(DuplicateRecordError):
        dataset_a.put_metadata(batch(individuals=twice))
    assert dataset_a.count_records(RecordQuery("individuals", "A")) == 0
    dataset_a.put_metadata(batch(individuals=twice), replace=True)
    assert dataset_a.find_records(RecordQuery("individuals", "A")) == [twice[1]]


def test_a_refused_batch_leaves_terms_and_datasets_as_they_were(dataset_a):
    female = {"id": "f1", "datasetId": "A", "sex": {"id": "NCIT:C16576", "label": "female"}}
    dataset_a.put_metadata(batch(individuals=[female]))
    refused = batch(
        datasets=[{"id": "B", "name": "B"}],
        individuals=[{"id": "m1", "datasetId": "B", "sex": {"id": "NCIT:C20197", "label": "male"}}],
        biosamples=[{"id": "s1", "datasetId": "NOPE"}],
    )
    with pytest.raises(UnknownDatasetError):
        dataset_a.put_metadata(refused)
    assert [d["id"] for d in dataset_a.list_datasets()] == ["A"]
    assert [term.id for term in dataset_a.filtering_terms()] == ["NCIT:C16576"]


def test_a_removed_dataset_can_be_loaded_again(dataset_a):
    dataset_a.put_metadata(batch(individuals=[{"id": "i1", "datasetId": "A", "v": "old"}]))
    assert dataset_a.remove_dataset("A")
    new = {"id": "i1", "datasetId": "A", "v": "new"}
    dataset_a.put_metadata(batch(datasets=[{"id": "A", "name": "A again"}], individuals=[new]))
    assert dataset_a.find_records(RecordQuery("individuals", "A")) == [new]
    assert [d["name"] for d in dataset_a.list_datasets()] == ["A again"]


def test_replacing_again_and_again_keeps_one_visible_record(dataset_a):
    for version in range(4):
        record = {"id": "i1", "datasetId": "A", "v": version}
        dataset_a.put_metadata(batch(individuals=[record]), replace=True)
    assert dataset_a.find_records(RecordQuery("individuals", "A")) == [{"id": "i1", "datasetId": "A", "v": 3}]
    assert dataset_a.count_records(RecordQuery("individuals", "A")) == 1


def test_limit_zero_returns_no_records(dataset_a):
    dataset_a.put_metadata(batch(individuals=[{"id": "i1", "datasetId": "A"}]))
    assert dataset_a.find_records(RecordQuery("individuals", "A", limit=0)) == []


def test_filtering_terms_of_one_entity_and_their_scopes(dataset_a):
    female = {"id": "NCIT:C16576", "label": "female"}
    blood = {"id": "UBERON:0000178", "label": "blood"}
    dataset_a.put_metadata(
        batch(
            individuals=[{"id": "i1", "datasetId": "A", "sex": female}],
            biosamples=[{"id": "s1", "datasetId": "A", "sampleOriginType": blood, "donorSex": female}],
        )
    )
    assert [(t.id, t.scopes) for t in dataset_a.filtering_terms()] == [
        ("NCIT:C16576", ("biosamples", "individuals")),
        ("UBERON:0000178", ("biosamples",)),
    ]
    assert [t.id for t in dataset_a.filtering_terms("individuals")] == ["NCIT:C16576"]
    query = RecordQuery("biosamples", "A", conditions=(TermCondition(frozenset({"UBERON:0000178"})),))
    assert [r["id"] for r in dataset_a.find_records(query)] == ["s1"]
