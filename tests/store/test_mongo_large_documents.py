"""Case-level data of any size on MongoDB: no stored document can reach 16 MB (issue 18, item 5).

A variant's carriers are chunks of `g_variant_carriers` (`beacon.store.mongo.carriers`); these tests
load a variant carried by 500,000 biosamples and measure every stored document with `bson.encode`.
"""

from __future__ import annotations

import dataclasses

import bson
import pytest
from pymongo.errors import DocumentTooLarge, OperationFailure

from beacon.store.base import MetadataBatch, StoreError, VariantQuery
from beacon.store.mongo import carriers as mongo_carriers
from beacon.store.mongo.errors import translate_error
from beacon.store.mongo.state import CARRIERS, VARIANTS
from tests.store.test_variant_contract import MNP, SNV

MONGO_LIMIT = 16 * 1024 * 1024
CROWD = 500_000


def crowd_id(number: int) -> str:
    return f"HG{number:07d}-biosample-with-a-long-identifier"  # 43 characters: 21 MB of ids in all


def zygosity(number: int) -> str:
    return "homozygous" if number % 7 == 0 else "heterozygous"


@pytest.fixture
def crowded(mongo_store):
    """D1 with MNP (one carrier) and SNV carried by CROWD biosamples, in a known order (not sorted)."""
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "D1"}]}))
    order = [(number * 7919) % CROWD for number in range(CROWD)]  # a permutation: 7919 is prime to CROWD
    carriers = tuple((crowd_id(number), zygosity(number)) for number in order)
    variant_load = mongo_store.begin_variant_load("D1")
    variant_load.add(
        [dataclasses.replace(MNP, carriers=(("S-alone", None),)), dataclasses.replace(SNV, carriers=carriers)]
    )
    variant_load.commit()
    return mongo_store, carriers


def test_a_variant_with_500000_carriers_loads_and_no_stored_document_nears_16_mb(crowded):
    store, carriers = crowded
    db = store.database()
    sizes = [len(bson.encode(document)) for name in (VARIANTS, CARRIERS) for document in db[name].find()]
    assert len(sizes) >= 2 + CROWD // mongo_carriers.CHUNK_CARRIERS
    assert max(sizes) < 2 * 1024 * 1024 < MONGO_LIMIT  # the arithmetic of mongo_carriers: under 1.3 MiB
    # Every carrier is stored once, in load order, with its zygosity.
    chunks = db[CARRIERS].find({"variant_id": SNV.variant_id}).sort("n", 1)
    stored = [(b, z) for chunk in chunks for b, z in zip(chunk["b"], chunk["z"], strict=True)]
    assert stored == list(carriers)


def test_every_carrier_of_the_crowded_variant_comes_back(crowded):
    store, _carriers = crowded
    assert store.variant_carriers("D1", SNV.variant_id) == sorted(crowd_id(number) for number in range(CROWD))
    assert store.variant_carriers("D1", MNP.variant_id) == ["S-alone"]
    everything = VariantQuery("D1", kind="range", chromosome="17", start=7_000_000, end=8_000_000)
    assert len(store.carriers_of_variants(everything)) == CROWD + 1


def test_biosample_queries_find_the_crowded_variant(crowded):
    store, _carriers = crowded
    last = frozenset({crowd_id(CROWD - 1)})  # in the last chunk
    for query in (
        VariantQuery("D1", kind="all", biosample_ids=last),
        VariantQuery("D1", kind="range", chromosome="17", start=7_577_000, end=7_578_000, biosample_ids=last),
        VariantQuery("D1", kind="all", biosample_ids=frozenset({"S-alone", crowd_id(0)})),
    ):
        expected = [SNV.variant_id] if "S-alone" not in query.biosample_ids else [SNV.variant_id, MNP.variant_id]
        assert store.count_variants(query) == len(expected)
        assert [found.variant_id for found in store.find_variants(query)] == expected
    assert store.count_variants(VariantQuery("D1", kind="all", biosample_ids=frozenset({"HG-nobody"}))) == 0


def test_a_page_reads_only_the_carriers_it_asks_for(crowded):
    store, carriers = crowded
    query = VariantQuery("D1", kind="range", chromosome="17", start=7_577_000, end=7_578_000)
    full = {found.variant_id: found.carriers for found in store.find_variants(query)}
    assert full[SNV.variant_id] == carriers  # by default: all of them, in load order (privacy.py reads them)
    cut = {
        found.variant_id: found.carriers for found in store.find_variants(dataclasses.replace(query, max_carriers=1001))
    }
    assert cut[SNV.variant_id] == carriers[:1001] and cut[MNP.variant_id] == (("S-alone", None),)
    bare = store.find_variants(dataclasses.replace(query, with_carriers=False))
    assert [found.carriers for found in bare] == [(), ()]
    assert [found.variant_id for found in bare] == [SNV.variant_id, MNP.variant_id]


def test_without_carriers_no_chunk_is_read(crowded, monkeypatch):
    store, _carriers = crowded
    reads: list[dict] = []
    original = store.database().__class__.__getitem__

    def spying(db, name):
        collection = original(db, name)
        if name != CARRIERS:
            return collection
        find = collection.find

        def recorded(*args, **kwargs):
            reads.append(args[0] if args else kwargs.get("filter"))
            return find(*args, **kwargs)

        collection.find = recorded
        return collection

    monkeypatch.setattr(store.database().__class__, "__getitem__", spying)
    query = VariantQuery("D1", kind="range", chromosome="17", start=7_577_000, end=7_578_000)
    assert len(store.find_variants(dataclasses.replace(query, with_carriers=False))) == 2
    assert reads == []
    store.find_variants(dataclasses.replace(query, max_carriers=5))
    assert reads and all(read["f"] == {"$lt": 5} for read in reads)  # only the first chunk of each


def test_chunks_close_at_a_megabyte_of_text():
    long_ids = tuple((f"{number:05d}" + "x" * 60_000, "heterozygous") for number in range(40))
    chunks = mongo_carriers.carrier_chunks(dataclasses.replace(SNV, carriers=long_ids), 3)
    assert [len(chunk["b"]) for chunk in chunks] == [17, 17, 6]  # 17 x 60,017 bytes fit in 1 MiB, 18 do not
    assert [chunk["f"] for chunk in chunks] == [0, 17, 34]
    assert all(len(bson.encode(chunk)) < 1.3 * 1024 * 1024 for chunk in chunks)


def test_a_biosample_id_longer_than_64_kib_is_refused_naming_the_variant(mongo_store):
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "D1"}]}))
    variant_load = mongo_store.begin_variant_load("D1")
    with pytest.raises(StoreError, match=rf"variant {SNV.variant_id} has a carrier whose biosample id is 70000 bytes"):
        variant_load.add([MNP, dataclasses.replace(SNV, carriers=(("x" * 70_000, None),))])
    variant_load.abort()
    assert mongo_store.count_variants(VariantQuery("D1", kind="all")) == 0
    assert mongo_store.database()[CARRIERS].count_documents({}) == 0


@pytest.mark.parametrize(
    "error",
    [
        DocumentTooLarge("BSON document too large (17000000 bytes)"),
        OperationFailure("object to insert too large", 10334),
    ],
)
def test_bson_size_errors_of_the_server_become_a_store_error_saying_so(error):
    translated = translate_error(error, "db1:27017")
    assert type(translated) is StoreError and "16 MB limit" in str(translated)
