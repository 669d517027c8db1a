"""Filtering terms, paths and unfiltered counts come from summaries stored at commit time (issue 18, item 3).

Each test writes records through the store, then checks what the summaries hold by hand, or edits the
stored records behind the store's back to show that a request reads the summaries, not the records.
"""

from __future__ import annotations

import pytest

from beacon.store.base import MetadataBatch, RecordQuery
from beacon.store.mongo import summaries
from beacon.store.mongo.state import RECORDS
from beacon.store.mongo.summaries import SUMMARIES

FEMALE = {"id": "NCIT:C16576", "label": "female"}
MALE = {"id": "NCIT:C20197", "label": "male"}


def write(store, *individuals: dict, replace: bool = False, datasets=("A",)) -> None:
    records = {"individuals": list(individuals)}
    if datasets:
        records["datasets"] = [{"id": dataset} for dataset in datasets]
    store.put_metadata(MetadataBatch(records), replace=replace)


def term_ids(store, **scope) -> list[str]:
    return [term.id for term in store.filtering_terms(**scope)]


def test_requests_read_the_summaries_not_the_records(mongo_store):
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": FEMALE}, {"id": "i2", "datasetId": "A", "age": 3})
    db = mongo_store.database()
    db[RECORDS].update_many({}, {"$set": {"terms": [], "values": []}})  # what an aggregation would now find
    db[RECORDS].delete_one({"id": "i2"})
    assert term_ids(mongo_store) == ["NCIT:C16576"]
    assert [field.id for field in mongo_store.filtering_fields(entity="individuals")] == [
        "age",
        "datasetId",
        "id",
        "sex.id",
        "sex.label",
    ]
    assert mongo_store.count_records(RecordQuery("individuals", "A")) == 2  # counted at commit time
    assert mongo_store.count_records(RecordQuery("individuals", "A", record_ids=frozenset({"i1", "i2"}))) == 1


def test_a_write_that_adds_records_extends_the_summary(mongo_store):
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": FEMALE})
    write(mongo_store, {"id": "i2", "datasetId": "A", "sex": MALE}, datasets=())
    assert term_ids(mongo_store, dataset_id="A") == ["NCIT:C16576", "NCIT:C20197"]
    assert mongo_store.count_records(RecordQuery("individuals", "A")) == 2
    visible = mongo_store.database()[SUMMARIES].count_documents({"superseded_by": {"$exists": False}})
    assert visible == 2  # one summary per (dataset, entity): datasets and individuals of A


def test_a_replaced_record_takes_its_terms_with_it(mongo_store):
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": FEMALE}, {"id": "i2", "datasetId": "A", "sex": FEMALE})
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": MALE}, datasets=(), replace=True)
    assert term_ids(mongo_store) == ["NCIT:C16576", "NCIT:C20197"]  # i2 is still female
    write(mongo_store, {"id": "i2", "datasetId": "A"}, datasets=(), replace=True)
    assert term_ids(mongo_store) == ["NCIT:C20197"]
    assert mongo_store.count_records(RecordQuery("individuals", "A")) == 2


def test_a_record_moved_to_another_dataset_leaves_the_old_summary(mongo_store):
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": FEMALE}, datasets=("A", "B"))
    write(mongo_store, {"id": "i1", "datasetId": "B", "sex": FEMALE}, datasets=(), replace=True)
    assert term_ids(mongo_store, dataset_id="A") == [] and term_ids(mongo_store, dataset_id="B") == ["NCIT:C16576"]
    assert mongo_store.count_records(RecordQuery("individuals", "A")) == 0


def test_a_long_summary_is_cut_into_parts(mongo_store, monkeypatch):
    monkeypatch.setattr(summaries, "PART_ENTRIES", 2)
    diseases = [{"diseaseCode": {"id": f"ICD10:C{i}", "label": f"c{i}"}} for i in range(5)]
    write(mongo_store, {"id": "i1", "datasetId": "A", "diseases": diseases})
    parts = list(mongo_store.database()[SUMMARIES].find({"entity": "individuals"}, {"terms": 1, "part": 1}))
    assert sorted(part["part"] for part in parts) == [0, 1, 2]
    assert all(len(part["terms"]) <= 2 for part in parts)
    assert term_ids(mongo_store) == [f"ICD10:C{i}" for i in range(5)]
    assert mongo_store.count_records(RecordQuery("individuals", "A")) == 1


def test_a_removed_dataset_loses_its_summaries(mongo_store):
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": FEMALE}, {"id": "j1", "datasetId": "B", "sex": MALE},
          datasets=("A", "B"))  # fmt: skip
    assert mongo_store.remove_dataset("A")
    assert term_ids(mongo_store) == ["NCIT:C20197"] and term_ids(mongo_store, dataset_id="A") == []
    write(mongo_store, {"id": "j2", "datasetId": "B"}, datasets=())  # the next writer finishes the removal
    assert mongo_store.database()[SUMMARIES].count_documents({"dataset_id": "A"}) == 0


@pytest.mark.parametrize("failing", ["insert", "summary"])
def test_a_failed_write_leaves_no_summary(mongo_store, monkeypatch, failing):
    write(mongo_store, {"id": "i1", "datasetId": "A", "sex": FEMALE})
    before = list(mongo_store.database()[SUMMARIES].find({}, {"_id": 0, "load": 0}))

    def fail(*_args, **_kwargs):
        raise RuntimeError("disk full")

    target = "beacon.store.mongo.writes." + ("_mark_superseded" if failing == "insert" else "write_summaries")
    monkeypatch.setattr(target, fail)
    with pytest.raises(RuntimeError):
        write(mongo_store, {"id": "i1", "datasetId": "A", "sex": MALE}, datasets=(), replace=True)
    assert list(mongo_store.database()[SUMMARIES].find({}, {"_id": 0, "load": 0})) == before
    assert term_ids(mongo_store) == ["NCIT:C16576"]
