"""A MongoDB store of schema 3 (carriers embedded in the variant documents): the server refuses it naming
`beacon init`, which moves the carriers into chunks (schema 4); the answers are the same afterwards."""

from __future__ import annotations

import pytest

from beacon.store.base import MetadataBatch, StoreUnavailable, VariantQuery
from beacon.store.mongo import MongoStore
from beacon.store.mongo.state import CARRIERS, SCHEMA_ID, STATE, VARIANTS
from tests.store.test_variant_contract import MNP, SNV

D = "D1"
# As schema 3 stored them (beacon/store/mongo/variants.py before schema 4), written out by hand.
EMBEDDED = [{"b": "S2", "z": "heterozygous"}, {"b": "S1", "z": "homozygous"}, {"b": "S3"}]


@pytest.fixture
def schema_3(mongo_store):
    """A store whose SNV holds its carriers the schema-3 way, with the schema-3 index, at version 3."""
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    loading = mongo_store.begin_variant_load(D)
    loading.add([SNV, MNP])
    loading.commit()
    db = mongo_store.database()
    db[VARIANTS].update_one({"variant_id": SNV.variant_id}, {"$set": {"carriers": EMBEDDED}})
    db[VARIANTS].update_one({"variant_id": MNP.variant_id}, {"$set": {"carriers": []}})
    db[STATE].update_one({"_id": f"variants/{D}"}, {"$set": {"current.annotations": ["caseLevelData", "geneId"]}})
    db[VARIANTS].create_index([("v", 1), ("carriers.b", 1)], name="by_carrier")
    db[STATE].update_one({"_id": SCHEMA_ID}, {"$set": {"version": 3}})
    mongo_store._schema_ready = False
    return mongo_store


def test_the_server_refuses_a_schema_3_store_naming_the_migration(schema_3):
    db = schema_3.database()
    reader = MongoStore(lambda: db.client, db.name, read_only=True)
    with pytest.raises(
        StoreUnavailable, match=r"schema version 3.*run 'beacon init'.*case-level data into g_variant_carriers"
    ):
        reader.check()
    assert db[VARIANTS].find_one({"variant_id": SNV.variant_id})["carriers"] == EMBEDDED  # nothing was changed


def test_beacon_init_moves_embedded_carriers_into_chunks(schema_3):
    schema_3.check()  # what `beacon init` does
    db = schema_3.database()
    assert db[STATE].find_one({"_id": SCHEMA_ID})["version"] == 4
    assert db[VARIANTS].count_documents({"carriers": {"$exists": True}}) == 0
    assert db[VARIANTS].find_one({"variant_id": SNV.variant_id})["carrier_count"] == 3
    assert "carrier_count" not in db[VARIANTS].find_one({"variant_id": MNP.variant_id})
    assert "by_carrier" not in db[VARIANTS].index_information()  # the schema-3 index on `carriers.b` is gone
    assert schema_3.variant_carriers(D, SNV.variant_id) == ["S1", "S2", "S3"]
    found = schema_3.find_variants(VariantQuery(D, kind="all", limit=10))
    assert [document.carriers for document in found] == [
        (("S2", "heterozygous"), ("S1", "homozygous"), ("S3", None)),  # load order, as embedded
        (),
    ]
    assert [document.variant_id for document in found] == [SNV.variant_id, MNP.variant_id]
    carried = VariantQuery(D, kind="all", biosample_ids=frozenset({"S3"}))
    assert schema_3.count_variants(carried) == 1
    MongoStore(lambda: db.client, db.name, read_only=True).check()  # the server starts now


def test_an_interrupted_migration_is_finished_without_duplicates(schema_3):
    db = schema_3.database()
    stored = db[VARIANTS].find_one({"variant_id": SNV.variant_id})
    # A `beacon init` that died after writing the chunk, before removing the array: its chunk, as it wrote it.
    chunk_id = f"{stored['_id']}/0"
    written = {"v": stored["v"], "variant_id": SNV.variant_id, "n": 0, "f": 0, "b": ["S2"], "z": [None]}
    db[CARRIERS].insert_one({"_id": chunk_id, **written})
    schema_3.check()
    assert db[CARRIERS].count_documents({"variant_id": SNV.variant_id}) == 1
    assert schema_3.variant_carriers(D, SNV.variant_id) == ["S1", "S2", "S3"]
    assert schema_3.find_variants(VariantQuery(D, kind="all", limit=1))[0].carriers[2] == ("S3", None)
