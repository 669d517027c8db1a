"""Store contract, case-level data: what `find_variants` returns of the carriers, biosample queries, incremental loads.

Every backend; on MongoDB the carriers are chunks of their own collection and a biosample query a
semi-join in batches (shrunk here to 2 ids, so that pages cross batches). Expected answers are worked
out from the hand-written variants below.
"""

from __future__ import annotations

import dataclasses

import pytest

from beacon.store.base import MetadataBatch, VariantQuery
from beacon.store.mongo import carriers as mongo_carriers
from tests.store.test_variant_contract import variant

D = "D1"
ORDERED = (("S3", "heterozygous"), ("S1", None), ("S2", "homozygous"))  # load order, not sorted
# Seven variants on chromosomes 1 and 17; S1 carries those at positions 1000, 3000, 5000 on 1 and 100, 300 on 17.
ON_1 = [variant(position, "C", "T", chromosome="1") for position in (1000, 2000, 3000, 4000, 5000)]
ON_17 = [variant(position, "A", "G") for position in (100, 300)]


def carrying(document, *biosamples: str):
    return dataclasses.replace(document, carriers=tuple((biosample, "heterozygous") for biosample in biosamples))


LOADED = [
    carrying(ON_1[0], "S1", "S2"),
    carrying(ON_1[1], "S2"),
    carrying(ON_1[2], "S1"),
    ON_1[3],
    dataclasses.replace(ON_1[4], carriers=(*ORDERED, ("S4", None))),
    carrying(ON_17[0], "S1"),
    carrying(ON_17[1], "S9", "S1"),
]
S1_ORDER = [ON_1[0], ON_1[2], ON_1[4], ON_17[0], ON_17[1]]  # chromosome "1" < "17", then by start


@pytest.fixture
def store(any_store, monkeypatch):
    monkeypatch.setattr(mongo_carriers, "ID_BATCH", 2)  # MongoDB: pages cross the semi-join's batches
    any_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    loading = any_store.begin_variant_load(D)
    loading.add(LOADED)
    loading.commit()
    return any_store


def test_carriers_come_back_in_load_order_whole_cut_or_not_at_all(store):
    query = VariantQuery(D, kind="range", chromosome="1", start=4999, end=5000)
    assert [found.carriers for found in store.find_variants(query)] == [(*ORDERED, ("S4", None))]
    cut = store.find_variants(dataclasses.replace(query, max_carriers=3))
    assert [found.carriers for found in cut] == [ORDERED]
    bare = store.find_variants(dataclasses.replace(query, with_carriers=False))
    assert [(found.variant_id, found.carriers) for found in bare] == [(ON_1[4].variant_id, ())]
    # The other fields are the same whether the carriers are read or not.
    assert dataclasses.replace(store.find_variants(query)[0], carriers=()) == bare[0]


def test_a_biosample_query_pages_in_position_order(store):
    s1 = VariantQuery(D, kind="all", biosample_ids=frozenset({"S1"}), limit=100)
    assert store.count_variants(s1) == 5
    assert [found.variant_id for found in store.find_variants(s1)] == [found.variant_id for found in S1_ORDER]
    for skip in range(6):
        for limit in (1, 2, 3):
            page = store.find_variants(dataclasses.replace(s1, skip=skip, limit=limit))
            assert [found.variant_id for found in page] == [found.variant_id for found in S1_ORDER[skip : skip + limit]]


def test_a_biosample_query_is_narrowed_by_the_rest_of_the_query(store):
    ranged = VariantQuery(D, kind="range", chromosome="1", start=1500, end=6000, biosample_ids=frozenset({"S1"}))
    assert [found.variant_id for found in store.find_variants(ranged)] == [ON_1[2].variant_id, ON_1[4].variant_id]
    assert store.count_variants(ranged) == 2
    either = VariantQuery(D, kind="range", chromosome="1", start=0, end=10_000, biosample_ids=frozenset({"S1", "S2"}))
    assert store.count_variants(either) == 4  # 1000 (both: once), 2000, 3000, 5000
    assert store.carriers_of_variants(ranged) == ["S1", "S2", "S3", "S4"]  # all carriers of 3000 and 5000


def test_carriers_survive_an_add_load(store):
    loading = store.begin_variant_load(D, mode="add")
    loading.add([carrying(variant(9000, "G", "C", chromosome="2"), "S1")])
    loading.commit()
    assert "caseLevelData" in store.variant_annotations(D)
    assert store.variant_carriers(D, ON_1[4].variant_id) == ["S1", "S2", "S3", "S4"]
    s1 = VariantQuery(D, kind="all", biosample_ids=frozenset({"S1"}), limit=100)
    assert store.count_variants(s1) == 6
    assert [found.variant_id for found in store.find_variants(s1)][-1] == "GRCh38-2-9000-G-C"  # "17" < "2"
