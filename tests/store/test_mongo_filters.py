"""Alphanumeric filters, individual links and filtering fields on the MongoDB store.

Hand-worked cases first; then the demo individuals checked against `indexing.record_matches`, the
reference semantics every store must agree with (tested itself against independent counts).
"""

from __future__ import annotations

import json

import pytest

from beacon.demo import DEMO_DATASET, DEMO_DIR
from beacon.query.durations import duration_days
from beacon.query.indexing import record_matches
from beacon.store.base import MetadataBatch, RecordQuery, TermCondition, ValueCondition
from loaders.metadata import to_document
from tests.store.conftest import TEST_WRITE_OPTIONS, open_mongomock

RECORDS = [
    {"id": "h1", "datasetId": "A", "height": 170, "onset": "P40Y", "sex": {"label": "female"}, "flag": True},
    {"id": "h2", "datasetId": "A", "height": 180.5, "onset": "P20Y", "sex": {"label": "male"}},
    {"id": "h3", "datasetId": "A", "height": "170", "tags": ["x", "y"]},
    {"id": "h4", "datasetId": "A", "measures": [{"v": 1}, {"v": 5}], "individualId": "p1"},
]
YEARS_30 = duration_days("P30Y")

CASES = [
    (ValueCondition("height", ">", 175.0), ["h2"]),
    (ValueCondition("height", "=", 170.0), ["h1"]),
    (ValueCondition("height", "=", "170"), ["h3"]),
    (ValueCondition("height", "!", 170.0), ["h2", "h3", "h4"]),
    (ValueCondition("onset", "<=", YEARS_30, is_duration=True), ["h2"]),
    (ValueCondition("onset", ">", YEARS_30, is_duration=True), ["h1"]),
    (ValueCondition("onset", ">", YEARS_30), []),  # a plain number never compares with a duration
    (ValueCondition("sex.label", "=", "fem%"), ["h1"]),
    (ValueCondition("sex.label", "!", "female"), ["h2", "h3", "h4"]),
    (ValueCondition("flag", "=", "true"), ["h1"]),
    (ValueCondition("tags", "=", "y"), ["h3"]),
    (ValueCondition("measures.v", ">=", 5.0), ["h4"]),
    (ValueCondition("measures.v", "<", 2.0), ["h4"]),
    (ValueCondition("measures.v", ">", 5.0), []),
]


@pytest.fixture
def hand_records(mongo_store):
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "A"}], "individuals": RECORDS}))
    return mongo_store


def ids(store, **query) -> list[str]:
    return [record["id"] for record in store.find_records(RecordQuery("individuals", "A", limit=100, **query))]


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_alphanumeric_conditions_worked_by_hand(hand_records, condition, expected):
    assert ids(hand_records, conditions=(condition,)) == expected
    assert hand_records.count_records(RecordQuery("individuals", "A", conditions=(condition,))) == len(expected)


def test_conditions_combine_with_and(hand_records):
    conditions = (ValueCondition("height", "!", 170.0), ValueCondition("sex.label", "=", "%"))
    assert ids(hand_records, conditions=conditions) == ["h2"]


def test_individual_ids_select_records_linked_to_those_individuals(hand_records):
    assert ids(hand_records, individual_ids=frozenset({"p1", "nobody"})) == ["h4"]
    assert ids(hand_records, individual_ids=frozenset()) == []


def test_filtering_fields_list_value_paths_with_their_entities(hand_records):
    fields = {field.id: field for field in hand_records.filtering_fields("individuals", "A")}
    assert {"height", "onset", "sex.label", "measures.v", "individualId", "flag", "tags"} <= set(fields)
    assert fields["height"].type == "alphanumeric" and fields["height"].scopes == ("individuals",)
    assert hand_records.filtering_fields(dataset_id="B") == []


@pytest.fixture(scope="module")
def demo_individuals():
    """The first 400 demo individuals as the loader stores them, in a mongomock stand-in store.

    (400 of 2504: mongomock evaluates filters in Python, and 400 already cover every case.)
    """
    with (DEMO_DIR / "individuals.json").open() as handle:
        records = [to_document("individuals", record) for record in json.load(handle)[:400]]
    store = open_mongomock(write_options=TEST_WRITE_OPTIONS)
    store.put_metadata(MetadataBatch({"datasets": [{"id": DEMO_DATASET}], "individuals": records}))
    yield store, records
    store.close()


DEMO_CONDITIONS = [
    ValueCondition("measures.measurementValue.value", ">", 180.0),
    ValueCondition("measures.measurementValue.value", "<=", 150.5),
    ValueCondition("sex.label", "=", "female"),
    ValueCondition("ethnicity.label", "!", "%Asian%"),
    ValueCondition("geographicOrigin.label", "=", "%land"),
    ValueCondition("diseases.diseaseCode.label", "=", "%diabetes%"),
    ValueCondition("interventionsOrProcedures.procedureCode.id", "=", "OPCS4:L46.3"),
    TermCondition(frozenset({"NCIT:C16576"})),
]


def test_demo_individuals_agree_with_the_reference_semantics(demo_individuals):
    store, records = demo_individuals
    for condition in DEMO_CONDITIONS:
        expected = sorted(record["id"] for record in records if record_matches(record, [condition]))
        query = RecordQuery("individuals", DEMO_DATASET, conditions=(condition,), limit=len(records))
        assert [record["id"] for record in store.find_records(query)] == expected, condition
        assert 0 < len(expected) < len(records), condition  # each case separates the records
