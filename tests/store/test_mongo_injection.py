"""No request value can become a MongoDB operator, field name or pattern: checked on the filters and on a store.

The filter checks need no server: they inspect what the MongoDB store would send. The store checks run
on the mongomock stand-in (and on a real server when BEACON_TEST_MONGO_URI is set).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from beacon.store.base import MetadataBatch, RecordQuery, TermCondition, ValueCondition
from beacon.store.mongo_queries import Visibility, record_filter, wildcard_pattern

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
