"""Store contract, filters: alphanumeric conditions, individual links, field paths and ontologies.

The stores must decide every condition exactly as `beacon.query.indexing.record_matches` (the reference
semantics, itself tested against independent counts in tests/unit); here that is checked on the real
CINECA UK1 demo records and on hand-made records with awkward values.
"""

from __future__ import annotations

import json

import pytest

from beacon.demo import DEMO_DIR
from beacon.query.durations import duration_days
from beacon.query.indexing import extract_terms, extract_values, record_matches, value_matches
from beacon.store.base import (
    Condition,
    DuplicateOntologyError,
    LinkCondition,
    MetadataBatch,
    RecordQuery,
    Store,
    TermCondition,
    ValueCondition,
)
from loaders.metadata import to_document
from loaders.ontology import read_ontology
from tests.conftest import DATA_DIR, DEMO_DATASET

HEIGHT = "measures.measurementValue.value"
HP_EXCERPT = DATA_DIR / "ontology" / "hp_seizure_excerpt.obo"
# Backends that store ontologies; the others skip those tests, saying so.
ONTOLOGY_BACKENDS = frozenset({"sqlite", "mongomock-standin", "mongo"})


def days(duration: str) -> float:
    return duration_days(duration)


INDIVIDUAL_CONDITIONS: list[Condition] = [
    ValueCondition("sex.label", "=", "female"),
    ValueCondition("sex.label", "=", "Female"),  # case-sensitive: none
    ValueCondition("sex.label", "!", "male"),
    ValueCondition("sex.label", "=", "%"),
    ValueCondition("sex.id", "=", "NCIT:C16576"),
    ValueCondition("geographicOrigin.label", "=", "%Ireland"),
    ValueCondition("geographicOrigin.label", "=", "Republic%"),
    ValueCondition("geographicOrigin.label", "=", "%ireland"),
    ValueCondition("geographicOrigin.label", "!", "%Ireland"),  # includes records without the field
    ValueCondition("ethnicity.label", "=", "%Asian%"),
    ValueCondition("diseases.diseaseCode.label", "=", "%itis"),
    ValueCondition("interventionsOrProcedures.procedureCode.label", "=", "OPCS(v4-0.0):%brain%"),
    ValueCondition(HEIGHT, ">", 180.0),
    ValueCondition(HEIGHT, ">=", 179.2973),
    ValueCondition(HEIGHT, "<", 150.5),
    ValueCondition(HEIGHT, "<=", 160.0),
    ValueCondition(HEIGHT, "=", 179.2973),
    ValueCondition(HEIGHT, "!", 179.2973),
    ValueCondition(HEIGHT, "=", "179.2973"),  # a string never matches a JSON number
    ValueCondition(HEIGHT, ">", days("P1D"), is_duration=True),  # nor does a duration
    ValueCondition("measures.date", "=", "2021-%"),
    ValueCondition("no.such.path", "!", "x"),
    ValueCondition("no.such.path", "=", "%"),
    TermCondition(frozenset({"NCIT:C16576"})),
    TermCondition(frozenset({"GAZ:00002641", "GAZ:00002639"})),
]
BIOSAMPLE_CONDITIONS: list[Condition] = [
    ValueCondition("collectionMoment", "<=", days("P40Y"), is_duration=True),
    ValueCondition("collectionMoment", ">", days("P40Y1M"), is_duration=True),
    ValueCondition("collectionMoment", "=", days("P40Y1M1D"), is_duration=True),
    ValueCondition("collectionMoment", "!", days("P40Y1M1D"), is_duration=True),
    ValueCondition("collectionMoment", ">", 5.0),  # a number never compares with a duration
    ValueCondition("collectionMoment", "=", "P40Y%"),  # a string compares with the text
    ValueCondition("collectionDate", "=", "2020-09-%"),
    ValueCondition("individualId", "=", "HG00096"),
    TermCondition(frozenset({"UBERON:0000178"})),
]


def demo_records(entity: str, every: int = 1) -> list[dict]:
    """The demo records of an entity as stored (every `every`-th one, to keep the suite fast)."""
    with (DEMO_DIR / f"{entity}.json").open(encoding="utf-8") as handle:
        return [to_document(entity, record) for record in json.load(handle)[::every]]


def store_with(store: Store, **records: list[dict]) -> Store:
    batch = MetadataBatch()
    for entity, items in records.items():
        batch.add(entity, items)
    store.put_metadata(batch)
    return store


def matching_ids(store: Store, entity: str, dataset_id: str, *conditions: Condition) -> list[str]:
    query = RecordQuery(entity, dataset_id, conditions=conditions, limit=100_000)
    return [record["id"] for record in store.find_records(query)]


def expected_ids(records: list[dict], *conditions: Condition) -> list[str]:
    return sorted(record["id"] for record in records if record_matches(record, conditions))


def reference_ids(indexed: list[tuple[str, set[str], list]], condition: Condition) -> list[str]:
    """`record_matches` for one condition over records whose terms and values are extracted once."""
    if isinstance(condition, TermCondition):
        return sorted(record_id for record_id, terms, _ in indexed if not condition.term_ids.isdisjoint(terms))
    return sorted(record_id for record_id, _, values in indexed if value_matches(condition, values))


def extracted(records: list[dict]) -> list[tuple[str, set[str], list]]:
    return [(record["id"], set(extract_terms(record)), extract_values(record)) for record in records]


def test_conditions_agree_with_record_matches_on_the_demo_data(any_store):
    # Every fifth demo record (501 individuals, 501 biosamples): the MongoDB stand-in is slow.
    individuals, biosamples = demo_records("individuals", 5), demo_records("biosamples", 5)
    store_with(any_store, datasets=demo_records("datasets"), individuals=individuals, biosamples=biosamples)
    indexed_individuals, indexed_biosamples = extracted(individuals), extracted(biosamples)
    checked = [("individuals", indexed_individuals, c) for c in INDIVIDUAL_CONDITIONS]
    checked += [("biosamples", indexed_biosamples, c) for c in BIOSAMPLE_CONDITIONS]
    selective = 0
    for entity, indexed, condition in checked:
        expected = reference_ids(indexed, condition)
        selective += 0 < len(expected) < len(indexed)
        assert matching_ids(any_store, entity, DEMO_DATASET, condition) == expected, condition
        count = any_store.count_records(RecordQuery(entity, DEMO_DATASET, conditions=(condition,)))
        assert count == len(expected), condition
    assert selective >= 18  # (every demo biosample was collected at P40Y1M1D, so those select all or none)
    # AND: female, taller than 170 cm, from England
    combined = (
        INDIVIDUAL_CONDITIONS[0],
        ValueCondition(HEIGHT, ">", 170.0),
        TermCondition(frozenset({"GAZ:00002641"})),
    )
    assert matching_ids(any_store, "individuals", DEMO_DATASET, *combined) == expected_ids(individuals, *combined)
    assert 0 < len(expected_ids(individuals, *combined)) < 100  # not vacuous


ODD_VALUES = ["a*b", "a?b", "a[b]c", "a%b", "A*B", "*", "x\ny", "100%", "[", "]"]


@pytest.mark.parametrize(
    "pattern", ["a*b", "a?b", "a[b]c", "a%b", "%*%", "%?", "[%", "%]", "x%y", "%", "100%", "a[%", "*", "%b%"]
)
def test_glob_characters_in_values_are_literal(any_store, pattern):
    records = [{"id": f"r{i}", "datasetId": "A", "note": value} for i, value in enumerate(ODD_VALUES)]
    store_with(any_store, datasets=[{"id": "A"}], individuals=records)
    condition = ValueCondition("note", "=", pattern)
    assert matching_ids(any_store, "individuals", "A", condition) == expected_ids(records, condition)
    negated = ValueCondition("note", "!", pattern)
    assert matching_ids(any_store, "individuals", "A", negated) == expected_ids(records, negated)


def test_glob_characters_worked_by_hand(any_store):
    records = [{"id": f"r{i}", "datasetId": "A", "note": value} for i, value in enumerate(ODD_VALUES)]
    store_with(any_store, datasets=[{"id": "A"}], individuals=records)
    assert matching_ids(any_store, "individuals", "A", ValueCondition("note", "=", "a*b")) == ["r0"]
    assert matching_ids(any_store, "individuals", "A", ValueCondition("note", "=", "a[b]c")) == ["r2"]
    assert matching_ids(any_store, "individuals", "A", ValueCondition("note", "=", "a%b")) == ["r0", "r1", "r3"]
    assert matching_ids(any_store, "individuals", "A", ValueCondition("note", "=", "x%y")) == ["r6"]


def test_replacing_a_record_replaces_its_values(any_store):
    store_with(any_store, datasets=[{"id": "A"}], individuals=[{"id": "i1", "datasetId": "A", "height": 150}])
    batch = MetadataBatch()
    batch.add("individuals", [{"id": "i1", "datasetId": "A", "height": 190}])
    any_store.put_metadata(batch, replace=True)
    assert matching_ids(any_store, "individuals", "A", ValueCondition("height", ">", 180.0)) == ["i1"]
    assert matching_ids(any_store, "individuals", "A", ValueCondition("height", "<", 160.0)) == []


def test_removing_a_dataset_removes_its_values_and_fields(any_store):
    store_with(
        any_store,
        datasets=[{"id": "A"}, {"id": "B"}],
        individuals=[{"id": "a1", "datasetId": "A", "onlyInA": 1}, {"id": "b1", "datasetId": "B", "height": 2}],
    )
    assert "onlyInA" in {field.id for field in any_store.filtering_fields()}
    any_store.remove_dataset("A")
    assert "onlyInA" not in {field.id for field in any_store.filtering_fields()}
    assert (
        any_store.count_records(RecordQuery("individuals", "A", conditions=(ValueCondition("onlyInA", "=", 1.0),))) == 0
    )


def test_individual_ids_select_the_records_of_those_individuals(any_store):
    biosamples = [
        {"id": "s1", "datasetId": "A", "individualId": "i1"},
        {"id": "s2", "datasetId": "A", "individualId": "i2"},
        {"id": "s3", "datasetId": "A", "individualId": "i1"},
        {"id": "s4", "datasetId": "A"},
    ]
    store_with(any_store, datasets=[{"id": "A"}], biosamples=biosamples)
    query = RecordQuery("biosamples", "A", individual_ids=frozenset({"i1", "nobody"}), limit=10)
    assert [record["id"] for record in any_store.find_records(query)] == ["s1", "s3"]
    assert any_store.count_records(query) == 2
    combined = RecordQuery("biosamples", "A", individual_ids=frozenset({"i1"}), record_ids=frozenset({"s3", "s2"}))
    assert any_store.count_records(combined) == 1


def test_link_conditions_match_linked_ids_exactly(any_store):
    analyses = [
        {"id": "a1", "datasetId": "A", "runId": "r1", "biosampleId": "s1"},
        {"id": "a2", "datasetId": "A", "runId": "r%", "biosampleId": "s1"},
        {"id": "a3", "datasetId": "A", "runId": "R1"},
        {"id": "a4", "datasetId": "A", "biosampleId": "r1"},  # the id under another link
        {"id": "a5", "datasetId": "A", "runId": ["r1", "r2"]},
        {"id": "a6", "datasetId": "A", "runId": 1},
    ]
    store_with(any_store, datasets=[{"id": "A"}], analyses=analyses)
    checked = {
        ("runId", frozenset({"r1"})): ["a1", "a5"],
        ("runId", frozenset({"r%"})): ["a2"],  # no wildcards: `%` is a character of the id
        ("runId", frozenset({"r2", "R1"})): ["a3", "a5"],
        ("runId", frozenset({"1"})): [],  # a number is not a linked id
        ("runId", frozenset()): [],
        ("biosampleId", frozenset({"s1", "r1"})): ["a1", "a2", "a4"],
    }
    for (path, ids), expected in checked.items():
        condition = LinkCondition(path, ids)
        assert expected_ids(analyses, condition) == expected, condition  # the reference semantics
        assert matching_ids(any_store, "analyses", "A", condition) == expected, condition
        assert any_store.count_records(RecordQuery("analyses", "A", conditions=(condition,))) == len(expected)
    both = (LinkCondition("biosampleId", frozenset({"s1"})), LinkCondition("runId", frozenset({"r1"})))
    assert matching_ids(any_store, "analyses", "A", *both) == ["a1"]


def test_filtering_fields_and_terms_per_entity_and_dataset(any_store):
    store_with(
        any_store,
        datasets=[{"id": "A"}, {"id": "B"}],
        individuals=[
            {"id": "a1", "datasetId": "A", "sex": {"id": "NCIT:C16576", "label": "female"}, "height": 160},
            {"id": "b1", "datasetId": "B", "sex": {"id": "NCIT:C20197", "label": "male"}},
        ],
        biosamples=[{"id": "s1", "datasetId": "A", "collectionMoment": "P40Y"}],
    )
    fields = {field.id: field for field in any_store.filtering_fields()}
    assert fields["sex.label"].type == "alphanumeric"
    assert fields["sex.label"].scopes == ("individuals",)
    assert fields["id"].scopes == ("biosamples", "datasets", "individuals")
    assert {field.id for field in any_store.filtering_fields("biosamples")} == {"id", "datasetId", "collectionMoment"}
    assert "height" not in {field.id for field in any_store.filtering_fields(dataset_id="B")}
    assert [term.id for term in any_store.filtering_terms(dataset_id="A")] == ["NCIT:C16576"]
    assert [term.id for term in any_store.filtering_terms("individuals", "B")] == ["NCIT:C20197"]


@pytest.fixture
def ontology_store(any_store, request):
    backend = request.node.callspec.params["any_store"]
    if backend not in ONTOLOGY_BACKENDS:
        pytest.skip(f"the {backend} store does not hold ontologies yet (put_ontology, ontologies, ontology_stamp)")
    return any_store


def test_ontologies_round_trip(ontology_store):
    hpo = read_ontology(HP_EXCERPT)
    assert ontology_store.ontologies() == []
    assert ontology_store.put_ontology(hpo) == 16
    assert ontology_store.ontologies() == [hpo]
    summary = ontology_store.ontologies(with_terms=False)
    assert [(item.resource, item.terms) for item in summary] == [(hpo.resource, ())]


def test_an_ontology_is_replaced_only_when_asked(ontology_store):
    hpo = read_ontology(HP_EXCERPT)
    ontology_store.put_ontology(hpo)
    stamp = ontology_store.ontology_stamp()
    with pytest.raises(DuplicateOntologyError, match="'hp' is already loaded"):
        ontology_store.put_ontology(hpo)
    assert ontology_store.ontology_stamp() == stamp
    smaller = type(hpo)(resource=hpo.resource, terms=hpo.terms[:3])
    assert ontology_store.put_ontology(smaller, replace=True) == 3
    assert ontology_store.ontology_stamp() != stamp
    assert ontology_store.ontologies()[0].terms == hpo.terms[:3]
