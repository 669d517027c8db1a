"""No request value can become a MongoDB operator, field name or pattern: checked on the filters and on a store,
for metadata queries and for g_variants queries.

The filter checks need no server: they inspect what the MongoDB store would send. The store checks run
on the mongomock stand-in (and on a real server when BEACON_TEST_MONGO_URI is set).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from beacon.store.base import MetadataBatch, RecordQuery, TermCondition, ValueCondition, VariantQuery
from beacon.store.mongo.carriers import carrier_filter
from beacon.store.mongo.queries import Visibility, record_filter, wildcard_pattern
from beacon.store.mongo.variant_queries import VariantSet, bases_match, find_filter

HOSTILE = ["$where", "$ne", "a.$ne", '{"$gt": ""}', "this.x == 1 || true", "a.b", "$regex", ".*", "\x00"]

# Every key the MongoDB store may put in a metadata filter: its own field names and operators.
ALLOWED_KEYS = {
    "entity", "dataset_id", "id", "load", "superseded_by", "terms.id", "values", "p", "s", "n",
    "$and", "$nor", "$elemMatch", "$eq", "$ne", "$in", "$nin", "$lt", "$gt", "$lte", "$gte", "$regex",
}  # fmt: skip


def walk(node: Any, parent: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """Every (key above it, value) pair of a filter, lists looked through."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value, key)
    elif isinstance(node, list):
        for item in node:
            yield parent, item
            yield from walk(item, parent)


def keys_of(node: Any) -> set[str]:
    return {key for key, _ in walk(node) if key is not None and isinstance(key, str)}


def hostile_queries(text: str) -> list[RecordQuery]:
    conditions = (
        TermCondition(frozenset({text})),
        ValueCondition(text, "=", text),
        ValueCondition(text, "!", text),
        ValueCondition(text, "=", f"{text}%{text}"),
        ValueCondition(text, ">=", 3.0),
        ValueCondition(text, "<", 40.0, is_duration=True),
    )
    return [
        RecordQuery(text, text, record_id=text, record_ids=frozenset({text, "x"}), conditions=conditions),
        RecordQuery("individuals", "A", conditions=conditions[1:3]),
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_becomes_a_key(text):
    for query in hostile_queries(text):
        mongo_filter = record_filter(query, Visibility(committed=("L1",)))
        assert keys_of(mongo_filter) <= ALLOWED_KEYS


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_appears_only_as_a_compared_value(text):
    (query, _) = hostile_queries(text)
    mongo_filter = record_filter(query, Visibility())
    places = {key for key, value in walk(mongo_filter) if value == text}
    assert places <= {"$eq", "$in"}  # never a bare value MongoDB would read as a document of operators


def test_a_wildcard_value_is_literal_text_around_the_wildcards():
    pattern = wildcard_pattern("a.*(b)%$x\\")
    assert re.fullmatch(pattern, "a.*(b)anything\n at all$x\\")
    assert not re.fullmatch(pattern, "aX*(b)$x\\")
    assert not re.search(wildcard_pattern("%.c"), "a.c\n")  # no match before a final newline


@pytest.mark.parametrize(
    "query",
    [
        RecordQuery("individuals", "A", record_id={"$ne": None}),  # type: ignore[arg-type]
        RecordQuery("individuals", {"$gt": ""}),  # type: ignore[arg-type]
        RecordQuery("individuals", "A", record_ids=frozenset({re.compile(".*")})),  # type: ignore[arg-type]
        RecordQuery("individuals", "A", conditions=(TermCondition(frozenset({re.compile(".*")})),)),  # type: ignore[arg-type]
        RecordQuery("individuals", "A", conditions=(ValueCondition({"$where": "1"}, "=", "x"),)),  # type: ignore[arg-type]
        RecordQuery("individuals", "A", conditions=(ValueCondition("sex", "=", {"$ne": 1}),)),  # type: ignore[arg-type]
    ],
    ids=["record-id-dict", "dataset-dict", "record-ids-regex", "term-regex", "path-dict", "value-dict"],
)
def test_values_that_are_not_strings_are_refused_before_reaching_mongodb(mongo_store, query):
    with pytest.raises(TypeError):
        mongo_store.count_records(query)


def test_an_operator_outside_the_list_is_refused(mongo_store):
    query = RecordQuery("individuals", "A", conditions=(ValueCondition("x", "$where", 1.0),))
    with pytest.raises(ValueError, match="operator"):
        mongo_store.count_records(query)


@pytest.fixture
def notes(mongo_store):
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "A"}])
    texts = {"n1": "abc", "n2": "a.c", "n3": "A.C", "n4": "a.c\n", "n5": "x$where", "n6": "(a)[b]{c}"}
    batch.add("individuals", [{"id": key, "datasetId": "A", "note": text} for key, text in texts.items()])
    mongo_store.put_metadata(batch)
    return mongo_store


def matching(store, *conditions) -> list[str]:
    return [record["id"] for record in store.find_records(RecordQuery("individuals", "A", conditions=conditions))]


def test_filter_values_match_literally(notes):
    assert matching(notes, ValueCondition("note", "=", "a.c")) == ["n2"]
    assert matching(notes, ValueCondition("note", "=", "a.%")) == ["n2", "n4"]
    assert matching(notes, ValueCondition("note", "=", "%.c")) == ["n2"]
    assert matching(notes, ValueCondition("note", "=", "%$where")) == ["n5"]
    assert matching(notes, ValueCondition("note", "=", "(a)[b]%")) == ["n6"]
    assert matching(notes, ValueCondition("note", "=", ".*")) == []


def test_filter_paths_are_data(notes):
    assert matching(notes, ValueCondition("$where", "=", "abc")) == []
    assert matching(notes, ValueCondition("note.$ne", "=", "abc")) == []
    assert len(matching(notes, ValueCondition("$where", "!", "abc"))) == 6  # no record has that path
    assert matching(notes, TermCondition(frozenset({"$ne", ".*"}))) == []


# -- variants -------------------------------------------------------------------------------------------
VARIANT_KEYS = {
    "v", "assembly", "chromosome", "bucket", "start", "end", "span", "norm_start", "norm_ref", "norm_alt",
    "reference_bases", "alternate_bases", "variant_id", "variant_type", "length", "gene_ids",
    "gene_keys", "protein_keys", "rs_ids", "aminoacid_changes",
    "$and", "$or", "$eq", "$in", "$gt", "$gte", "$lt", "$lte", "$regex",
}  # fmt: skip
VARIANT_SET = VariantSet(version=3, assembly="GRCh38", count=9, max_short_span=900, max_span=5000, max_shift=1)


def hostile_variant_queries(text: str) -> list[VariantQuery]:
    narrowing = {
        "gene_id": text,
        "aminoacid_change": text,
        "protein_id": text,
        "rs_id": text,
        "variant_types": (text, "SNP"),
        "biosample_ids": frozenset({text, "S1"}),
    }
    located = {"dataset_id": text, "chromosome": text, **narrowing}
    return [
        VariantQuery(kind="range", start=1, end=5, reference_bases="N", alternate_bases="ACN", **located),
        VariantQuery(kind="sequence", start=1, norm_start=1, alternate_bases="A", norm_alt="A", **located),
        VariantQuery(kind="bracket", start=1, start_max=5, end_min=2, end=9, min_length=1, max_length=3, **located),
        VariantQuery(text, kind="id", variant_id=text, chromosome=text, start=1),
        VariantQuery(text, kind="gene", **narrowing),
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_becomes_a_key_of_a_variant_filter(text):
    for query in hostile_variant_queries(text):
        assert keys_of(find_filter(query, VARIANT_SET, carried=(text,))) <= VARIANT_KEYS
        # The biosamples go to the carrier chunks first (the semi-join), also only as data.
        assert keys_of(carrier_filter(3, query)) <= {"v", "b", "chromosome", "$eq", "$in"}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_only_ever_compared_in_a_variant_filter(text):
    for query in hostile_variant_queries(text):
        places = {key for key, value in walk(find_filter(query, VARIANT_SET, carried=(text,))) if value == text}
        assert places and places <= {"$eq", "$in"}
        chunk_places = {key for key, value in walk(carrier_filter(3, query)) if value == text}
        assert chunk_places <= {"$eq", "$in"} and (query.biosample_ids is None or "$in" in chunk_places)


def test_n_wildcards_become_anchored_patterns_of_literal_bases():
    assert bases_match("ANC", "alternate_bases") == {"$regex": r"^A.C(?![\s\S])"}
    assert bases_match("AC", "alternate_bases") == {"$eq": "AC"}  # no N: plain equality, index-friendly
    pattern = bases_match("NN", "alternate_bases")["$regex"]
    assert [text for text in ("A", "AG", "AGT", "AG\n") if re.search(pattern, text)] == ["AG"]


@pytest.fixture
def variants(mongo_store):
    from tests.store.test_variant_contract import SNV

    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "A"}]}))
    load = mongo_store.begin_variant_load("A")
    load.add([SNV])  # 17:7577121 C>T, gene TP53
    load.commit()
    return mongo_store


@pytest.mark.parametrize("bases", ["A.*", "$ne", "AC|GT", "a", "N{3}", "A\n", "ÄC", "[ACGT]"])
def test_bases_other_than_acgtn_are_refused_before_reaching_mongodb(variants, bases):
    for query in (
        VariantQuery("A", chromosome="17", start=7577120, norm_start=7577120, norm_alt=bases),
        VariantQuery("A", chromosome="17", kind="range", start=0, end=9, alternate_bases=bases),
    ):
        with pytest.raises(ValueError, match="only A, C, G, T or N"):
            variants.count_variants(query)


@pytest.mark.parametrize(
    "query",
    [
        VariantQuery("A", chromosome={"$ne": None}, kind="range", start=0, end=9),  # type: ignore[arg-type]
        VariantQuery({"$gt": ""}, kind="all"),  # type: ignore[arg-type]
        VariantQuery("A", chromosome="17", kind="range", start="0", end=9),  # type: ignore[arg-type]
        VariantQuery("A", chromosome="17", kind="range", start=True, end=9),
        VariantQuery("A", chromosome="17", kind="id", variant_id={"$where": "1"}, start=1),  # type: ignore[arg-type]
        VariantQuery("A", chromosome="17", kind="id", variant_id="GRCh38-17-7577121-C-T", start="7577120"),  # type: ignore[arg-type]
        VariantQuery("A", kind="gene", gene_id=re.compile(".*")),  # type: ignore[arg-type]
        VariantQuery("A", kind="all", biosample_ids=frozenset({re.compile(".*")})),  # type: ignore[arg-type]
        VariantQuery("A", kind="all", max_length={"$gt": 0}),  # type: ignore[arg-type]
    ],
    ids=[
        "chromosome-dict",
        "dataset-dict",
        "start-text",
        "start-bool",
        "id-dict",
        "id-start-text",
        "gene-regex",
        "carrier-regex",
        "length-dict",
    ],
)
def test_variant_values_of_the_wrong_type_are_refused_before_reaching_mongodb(variants, query):
    with pytest.raises(TypeError):
        variants.count_variants(query)


def test_variant_values_match_literally(variants):
    def count(**fields) -> int:
        return variants.count_variants(VariantQuery("A", **fields))

    assert count(kind="gene", gene_id="TP53") == 1
    assert count(kind="gene", gene_id="TP.*") == count(kind="gene", gene_id="$ne") == 0

    def count_id(variant_id: str) -> int:
        return count(kind="id", variant_id=variant_id, chromosome="17", start=7577120)

    assert count_id("GRCh38-17-7577121-C-T") == 1
    assert count_id(".*") == count_id("GRCh38-17-7577121-C-.") == 0
    assert count(kind="range", chromosome="17", start=0, end=10**8) == 1
    assert count(kind="range", chromosome="$where", start=0, end=10**8) == 0
    assert count(kind="range", chromosome="1.", start=0, end=10**8) == 0
    assert count(kind="all", variant_types=("SNP",)) == 1 and count(kind="all", variant_types=(".*",)) == 0
    assert variants.variant_carriers("A", ".*") == [] and variants.variant_annotations("$ne") == set()
    assert variants.variant_frequency_source("$ne") is None and variants.variant_frequency_source(".*") is None
    assert variants.variant_carriers("A", "GRCh38-17-7577121-C-.") == []
