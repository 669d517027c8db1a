"""The stored form of a record: BSON-safe keys and values, reversed exactly, in a wrapper of store fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import bson
import pytest

from beacon.store.base import MetadataBatch, RecordQuery
from beacon.store.mongo.codec import decode_record, encode_record, escape_key, index_values, unescape_key
from beacon.store.mongo.state import RECORDS
from tests.store.test_record_contract import AWKWARD_RECORD


@pytest.mark.parametrize(
    ("key", "stored"),
    [
        ("plain", "plain"),
        ("$where", "%24where"),
        ("a$b", "a$b"),
        ("a.b.c", "a%2Eb%2Ec"),
        ("100%", "100%25"),
        ("%24where", "%2524where"),
        ("nul\x00", "nul%00"),
        ("lone\ud800", "lone%uD800"),
        ("", ""),
    ],
)
def test_keys_are_escaped_as_written_by_hand(key, stored):
    assert escape_key(key) == stored
    assert unescape_key(stored) == key


def all_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from all_keys(node=value)
    elif isinstance(node, list):
        for item in node:
            yield from all_keys(item)


def test_an_awkward_record_survives_real_bson_encoding_exactly():
    encoded = encode_record(AWKWARD_RECORD)
    keys = list(all_keys(encoded))
    assert not [key for key in keys if key.startswith("$") or "." in key or "\x00" in key]
    decoded = decode_record(bson.decode(bson.encode({"doc": encoded}))["doc"])
    assert decoded == AWKWARD_RECORD
    assert json.dumps(decoded) == json.dumps(AWKWARD_RECORD)
    assert type(decoded["numbers"][0]) is int and type(decoded["big"]) is int


def test_text_bson_cannot_hold_is_kept_too():
    record = {"id": "s", "lone": "\udc80 surrogate", "list": ["\ud83d"]}
    assert decode_record(bson.decode(bson.encode(encode_record(record)))) == record


def test_marker_lookalikes_in_a_record_stay_plain_data():
    record = {"id": "m", "x": {"%int": "12"}, "y": {"%str": '"a"'}}
    assert decode_record(encode_record(record)) == record


def test_values_index_leaves_paths_as_data():
    entries = index_values({"$where": "x", "a.b": {"c": 2}})
    assert entries == [{"p": "$where", "s": "x", "n": None}, {"p": "a.b.c", "s": None, "n": 2.0}]


def test_the_stored_document_wraps_the_record(mongo_store):
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "A"}])
    batch.add("individuals", [AWKWARD_RECORD])
    mongo_store.put_metadata(batch)
    stored = mongo_store.database()[RECORDS].find_one({"entity": "individuals"})
    assert set(stored) == {"_id", "entity", "id", "dataset_id", "load", "doc", "terms", "values"}
    assert (stored["id"], stored["dataset_id"]) == ("odd1", "A")
    assert stored["doc"]["_id"] == "not the store's"
    assert stored["doc"]["%24where"] == "sleep(10000)"
    assert mongo_store.find_records(RecordQuery("individuals", "A")) == [AWKWARD_RECORD]
