"""The MongoDB store's indexes and schema version: created on first use, checked by `check()`."""

from __future__ import annotations

import pytest

from beacon.store.base import MetadataBatch, RecordQuery, StoreError, StoreUnavailable
from beacon.store.mongo import MongoStore
from beacon.store.mongo.state import CARRIERS, ONTOLOGY_TERMS, RECORDS, SCHEMA_ID, SCHEMA_VERSION, STATE, VARIANTS
from beacon.store.mongo.summaries import SUMMARIES

# What the metadata queries need (see mongo_state.RECORD_INDEXES), written out by hand.
# Every index ends with the visibility fields, so that a query's visibility is decided on index keys.
EXPECTED_INDEXES = {
    "by_dataset": [("entity", 1), ("dataset_id", 1), ("id", 1), ("load", 1), ("superseded_by", 1)],
    "by_id": [("entity", 1), ("id", 1), ("load", 1), ("superseded_by", 1)],
    "by_term": [("entity", 1), ("dataset_id", 1), ("terms.id", 1), ("load", 1), ("superseded_by", 1)],
    "by_text_value": [("entity", 1), ("dataset_id", 1), ("values.p", 1), ("values.s", 1), ("load", 1),
                      ("superseded_by", 1)],
    "by_number_value": [("entity", 1), ("dataset_id", 1), ("values.p", 1), ("values.n", 1), ("load", 1),
                        ("superseded_by", 1)],
    "by_load": [("load", 1)],
    "by_superseded": [("superseded_by", 1)],
}  # fmt: skip


# What the g_variants queries need (docs/scaling.md): the dataset version first, the shard key fields
# (assembly, bucket) last so that counts are answered from the index.
EXPECTED_VARIANT_INDEXES = {
    "by_allele": [("v", 1), ("chromosome", 1), ("norm_start", 1), ("norm_alt", 1), ("norm_ref", 1),
                  ("assembly", 1), ("bucket", 1)],
    "by_position": [("v", 1), ("chromosome", 1), ("start", 1), ("variant_id", 1), ("end", 1),
                    ("assembly", 1), ("bucket", 1)],
    "by_long_span": [("v", 1), ("chromosome", 1), ("start", 1), ("end", 1), ("span", 1),
                     ("assembly", 1), ("bucket", 1)],
    "by_variant_id": [("v", 1), ("variant_id", 1)],
    "by_gene": [("v", 1), ("gene_ids", 1)],
    "by_aminoacid_change": [("v", 1), ("aminoacid_changes", 1)],
    "by_rs_id": [("v", 1), ("rs_ids", 1)],
    "by_gene_key": [("v", 1), ("gene_keys", 1)],
    "by_protein_key": [("v", 1), ("protein_keys", 1)],
}  # fmt: skip
# Case-level data (mongo_carriers): a variant's chunks in order, and the variants a biosample carries.
EXPECTED_CARRIER_INDEXES = {
    "by_variant": [("v", 1), ("variant_id", 1), ("n", 1)],
    "by_carrier": [("v", 1), ("b", 1), ("chromosome", 1), ("start", 1), ("variant_id", 1)],
}
PARTIAL_FILTERS = {
    "by_long_span": {"span": {"$gt": 1000}},
    "by_gene": {"gene_ids": {"$exists": True}},
    "by_aminoacid_change": {"aminoacid_changes": {"$exists": True}},
    "by_rs_id": {"rs_ids": {"$exists": True}},
    "by_gene_key": {"gene_keys": {"$exists": True}},
    "by_protein_key": {"protein_keys": {"$exists": True}},
}


def index_keys(store, collection: str = RECORDS) -> dict[str, list[tuple[str, int]]]:
    information = store.database()[collection].index_information()
    return {name: [(field, int(order)) for field, order in info["key"]] for name, info in information.items()}


def test_check_on_a_new_database_creates_indexes_and_records_the_version(mongo_store):
    mongo_store.check()
    indexes = index_keys(mongo_store)
    assert {name: indexes[name] for name in EXPECTED_INDEXES} == EXPECTED_INDEXES
    assert mongo_store.database()[STATE].find_one({"_id": SCHEMA_ID})["version"] == SCHEMA_VERSION


def test_the_variant_and_ontology_indexes_are_created_too(mongo_store):
    mongo_store.check()
    variant_indexes = index_keys(mongo_store, VARIANTS)
    assert {name: variant_indexes[name] for name in EXPECTED_VARIANT_INDEXES} == EXPECTED_VARIANT_INDEXES
    assert "by_carrier" not in variant_indexes  # variants hold no carriers since schema 4
    carrier_indexes = index_keys(mongo_store, CARRIERS)
    assert {name: carrier_indexes[name] for name in EXPECTED_CARRIER_INDEXES} == EXPECTED_CARRIER_INDEXES
    assert index_keys(mongo_store, ONTOLOGY_TERMS)["by_ontology"] == [("ontology", 1), ("version", 1), ("id", 1)]
    information = mongo_store.database()[VARIANTS].index_information()
    for name, partial in PARTIAL_FILTERS.items():
        if "partialFilterExpression" in information[name]:  # a real server reports it; mongomock does not
            assert information[name]["partialFilterExpression"] == partial


def test_a_database_of_the_previous_schema_is_upgraded_by_check(mongo_store):
    mongo_store.check()
    db = mongo_store.database()
    db[VARIANTS].drop_indexes()
    db[STATE].update_one({"_id": SCHEMA_ID}, {"$set": {"version": 1}})  # as the metadata-only store left it
    mongo_store._schema_ready = False
    mongo_store.check()
    assert set(EXPECTED_VARIANT_INDEXES) <= set(index_keys(mongo_store, VARIANTS))
    assert db[STATE].find_one({"_id": SCHEMA_ID})["version"] == SCHEMA_VERSION == 4


def test_a_database_of_schema_2_gets_the_new_record_indexes_and_its_summaries(mongo_store):
    mongo_store.put_metadata(
        MetadataBatch(
            {
                "datasets": [{"id": "A"}],
                "individuals": [
                    {"id": "i1", "datasetId": "A", "sex": {"id": "NCIT:C16576", "label": "female"}},
                    {"id": "i2", "datasetId": "A", "age": 40},
                ],
            }
        )
    )
    db = mongo_store.database()
    db[RECORDS].drop_indexes()  # as schema 2 left them: same names, without the visibility fields
    db[RECORDS].create_index([("entity", 1), ("dataset_id", 1), ("id", 1)], name="by_dataset")
    db[RECORDS].create_index([("entity", 1), ("dataset_id", 1), ("terms.id", 1)], name="by_term")
    db[SUMMARIES].drop()  # schema 2 had none
    db[STATE].update_one({"_id": SCHEMA_ID}, {"$set": {"version": 2}})
    mongo_store._schema_ready = False
    mongo_store.check()
    indexes = index_keys(mongo_store)
    assert {name: indexes[name] for name in EXPECTED_INDEXES} == EXPECTED_INDEXES
    assert [term.id for term in mongo_store.filtering_terms()] == ["NCIT:C16576"]
    assert mongo_store.count_records(RecordQuery("individuals", "A")) == 2


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


# -- read-only: the server's store never initialises a database -----------------------------------
def test_a_read_only_store_reports_a_new_database_instead_of_initialising_it(mongo_store):
    reader = MongoStore(lambda: mongo_store.database().client, mongo_store.database().name, read_only=True)
    with pytest.raises(StoreUnavailable, match="is not initialised: run 'beacon init'"):
        reader.check()
    assert STATE not in mongo_store.database().list_collection_names()  # nothing was written
    with pytest.raises(StoreError, match="opened for reading only"):
        reader.put_metadata(MetadataBatch({"datasets": [{"id": "A"}]}))
    mongo_store.check()  # `beacon init`: a store that may write creates the schema
    reader.check()


def test_a_read_only_store_of_an_older_schema_asks_for_beacon_init(mongo_store):
    mongo_store.check()
    mongo_store.database()[STATE].update_one({"_id": SCHEMA_ID}, {"$set": {"version": 1}})
    reader = MongoStore(lambda: mongo_store.database().client, mongo_store.database().name, read_only=True)
    with pytest.raises(StoreUnavailable, match="schema version 1, older than this beacon's: run 'beacon init'"):
        reader.check()
    assert mongo_store.database()[STATE].find_one({"_id": SCHEMA_ID})["version"] == 1


@pytest.mark.mongo
def test_compact_runs_on_a_real_server(request, tmp_path):
    from tests.store.conftest import open_backend

    store = open_backend("mongo", request, tmp_path)  # mongomock has no `compact`: a real server only
    try:
        datasets = [{"id": f"D{number}", "name": "x" * 2000} for number in range(300)]
        store.put_metadata(MetadataBatch({"datasets": datasets}))
        store.remove_dataset("D0")
        assert store.compact() >= 0  # the server accepted `compact` on every collection
        assert len(store.list_datasets()) == 299
    finally:
        store.close()
