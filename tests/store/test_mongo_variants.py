"""The MongoDB variant side beyond the contract: stored documents, filters, shard key use and the load protocol.

Stored documents and filters are written out by hand (positions, buckets of 100 kb, spans); the
protocol tests drive a load step by step, or edit the variant set document as a crashed or remote
writer would leave it, and check what readers see. Runs on the mongomock stand-in (and on a real
server when BEACON_TEST_MONGO_URI is set).
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from beacon.store.base import MetadataBatch, PopulationFrequency, StoreError, VariantQuery, build_id_query
from beacon.store.mongo import state, writes as mongo_writes
from beacon.store.mongo.state import CARRIERS, STATE, VARIANTS, LostLock
from beacon.store.mongo.variant_queries import VariantSet, bucket_numbers, find_filter, variant_filters
from tests.store.test_variant_contract import MNP, SNV, variant

D = "D1"
EVERYTHING = VariantQuery(D, kind="all", limit=100)
DELETION = variant(
    7577200,
    "GA",
    "G",
    gene_ids=("TP53",),
    frequencies=(PopulationFrequency("Total", 0.25, 1, 4),),
    carriers=(("S1", "heterozygous"),),
)


@pytest.fixture
def store_d(mongo_store):
    """A store with dataset D1 and no variants."""
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    return mongo_store


def load(store, *documents, replace: bool = False) -> None:
    variant_load = store.begin_variant_load(D, replace=replace)
    variant_load.add(list(documents))
    variant_load.commit()


def set_document(store) -> dict:
    return store.database()[STATE].find_one({"_id": f"variants/{D}"})


def stored_versions(store) -> list[int]:
    return sorted(store.database()[VARIANTS].distinct("v"))


def test_a_variant_is_stored_with_its_shard_key_and_only_the_lists_it_has(store_d):
    load(store_d, DELETION)
    version = set_document(store_d)["current"]["version"]
    stored = store_d.database()[VARIANTS].find_one({}, {"_id": 0})
    assert stored == {
        "v": version,
        "assembly": "GRCh38",
        "chromosome": "17",
        "bucket": 75,  # 7577199 // 100000
        "start": 7577199,
        "end": 7577201,
        "span": 2,
        "variant_id": "GRCh38-17-7577200-GA-G",
        "reference_bases": "GA",
        "alternate_bases": "G",
        "norm_start": 7577200,
        "norm_ref": "A",
        "norm_alt": "",
        "variant_type": "DEL",
        "length": 1,
        "frequencies": [["Total", 0.25, 1, 4, None, None, None]],
        "gene_ids": ["TP53"],
        "carrier_count": 1,  # the carriers themselves: chunks of their own collection (mongo_carriers)
    }
    chunks = list(store_d.database()[CARRIERS].find({}, {"_id": 0}))
    assert chunks == [
        {"v": version, "assembly": "GRCh38", "chromosome": "17", "start": 7577199, "variant_id": DELETION.variant_id,
         "bucket": 75, "n": 0, "f": 0, "b": ["S1"], "z": ["heterozygous"]}
    ]  # fmt: skip


def test_the_variant_set_document_records_what_queries_need(store_d):
    load(store_d, DELETION, SNV, variant(7570000, "A" + "C" * 2999, "A"))
    current = set_document(store_d)["current"]
    assert {key: current[key] for key in ("assembly", "count", "max_short_span", "max_span", "max_shift")} == {
        "assembly": "GRCh38",
        "count": 3,
        "max_short_span": 2,  # the deletion GA>G
        "max_span": 3000,
        "max_shift": 1,  # GA>G trims to 7577200 A>"", one base after its start
    }
    assert current["annotations"] == ["caseLevelData", "geneId"]
    assert store_d.variant_annotations(D) == {"caseLevelData", "geneId"}
    assert store_d.count_variants(EVERYTHING) == 3


# -- filters ------------------------------------------------------------------------------------------
SET = VariantSet(version=7, assembly="GRCh38", count=10, max_short_span=1000, max_span=250_000, max_shift=1)
SHORT_ONLY = dataclasses.replace(SET, max_span=900, max_short_span=900)


def test_bucket_numbers_by_hand():
    assert bucket_numbers(7_599_999, 7_600_000) == [75, 76]
    assert bucket_numbers(-500, 99_999) == [0]
    assert bucket_numbers(5, -1) == []
    assert bucket_numbers(0, 25_600_000 - 1) == list(range(256))
    assert bucket_numbers(0, 25_600_000) is None  # 257 buckets: the query names none


def test_a_range_has_a_second_part_only_when_the_version_holds_long_variants():
    query = VariantQuery(D, kind="range", chromosome="17", start=7_600_500, end=7_800_000)
    common = {"v": {"$eq": 7}, "assembly": {"$eq": "GRCh38"}, "chromosome": {"$eq": "17"}}
    short, long = variant_filters(query, SET)
    assert short == {
        **common,
        "start": {"$gte": 7_599_500, "$lt": 7_800_000},  # 7_600_500 - 1000
        "end": {"$gt": 7_600_500},
        "bucket": {"$in": [75, 76, 77]},
    }
    assert long == {
        **common,
        "start": {"$gte": 7_350_500, "$lt": 7_599_500},  # from 7_600_500 - 250_000
        "end": {"$gt": 7_600_500},
        "span": {"$gt": 1000},
        "bucket": {"$in": [73, 74, 75]},
    }
    (only,) = variant_filters(query, SHORT_ONLY)
    assert only["start"] == {"$gte": 7_599_600, "$lt": 7_800_000} and only["bucket"] == {"$in": [75, 76, 77]}
    assert find_filter(query, SET) == {"$or": [short, long]}


def test_a_sequence_query_looks_in_the_buckets_its_start_may_be_in():
    trimmed = VariantQuery(D, chromosome="17", start=7_599_999, norm_start=7_600_000, norm_ref="A", norm_alt="")
    (only,) = variant_filters(trimmed, SET)
    assert only["bucket"] == {"$in": [75, 76]}  # a padded start one base before may be in bucket 75
    assert {key: only[key] for key in ("norm_start", "norm_alt", "norm_ref")} == {
        "norm_start": {"$eq": 7_600_000},
        "norm_alt": {"$eq": ""},
        "norm_ref": {"$eq": "A"},
    }
    no_reference = VariantQuery(
        D, chromosome="17", start=150_000, norm_start=150_000, alternate_bases="T", norm_alt="T"
    )
    (either,) = variant_filters(no_reference, SET)
    assert either["$or"] == [
        {"norm_start": {"$eq": 150_000}, "norm_alt": {"$eq": "T"}},
        {"start": {"$eq": 150_000}, "alternate_bases": {"$eq": "T"}},
    ]
    assert either["bucket"] == {"$in": [1]}


def test_an_id_query_names_the_position_and_bucket_of_the_id():
    # Bucket 76 only: mongos sends the lookup to the one shard owning it; `by_position` answers it.
    query = build_id_query(D, "GRCh38-17-7600001-A-G")
    assert query is not None
    assert variant_filters(query, SET) == [
        {
            "v": {"$eq": 7},
            "assembly": {"$eq": "GRCh38"},
            "chromosome": {"$eq": "17"},
            "start": {"$eq": 7_600_000},
            "variant_id": {"$eq": "GRCh38-17-7600001-A-G"},
            "bucket": {"$in": [76]},
        }
    ]


def test_carriers_are_looked_up_at_the_position_of_the_id(store_d):
    load(store_d, DELETION)
    assert store_d.variant_carriers(D, DELETION.variant_id) == ["S1"]
    # The same id stored at another position (as no load writes it) is not where the id says: not found.
    store_d.database()[VARIANTS].update_many({}, {"$inc": {"start": 1}})
    assert store_d.variant_carriers(D, DELETION.variant_id) == []


def test_wide_brackets_and_queries_without_a_position_name_no_bucket():
    wide = VariantQuery(D, kind="bracket", chromosome="1", start=0, start_max=100_000_000, end_min=0, end=100_000_001)
    assert "bucket" not in variant_filters(wide, SET)[0]
    narrow = VariantQuery(D, kind="bracket", chromosome="1", start=150_000, start_max=250_000, end_min=0, end=9)
    assert variant_filters(narrow, SET)[0]["bucket"] == {"$in": [1, 2]}  # starts 150_000..249_999
    gene = VariantQuery(D, kind="gene", gene_id="TP53")
    assert variant_filters(gene, SET) == [
        {
            "v": {"$eq": 7},
            "assembly": {"$eq": "GRCh38"},
            # the key, or the gene id as stored when it is its own key (`lookups.lookup_keys`)
            "$and": [{"$or": [{"gene_keys": {"$eq": "TP53"}}, {"gene_ids": {"$eq": "TP53"}}]}],
        }
    ]


# -- the load protocol ------------------------------------------------------------------------------------
def test_a_load_stays_invisible_until_its_commit_and_the_replaced_version_is_deleted(store_d):
    load(store_d, SNV)
    first = set_document(store_d)["current"]["version"]
    replacing = store_d.begin_variant_load(D, replace=True)
    replacing.add([MNP, DELETION])
    second = set_document(store_d)["loading"]["version"]
    assert stored_versions(store_d) == [first, second]  # written, but readers query `first` only
    assert [d.variant_id for d in store_d.find_variants(EVERYTHING)] == [SNV.variant_id]
    replacing.commit()
    document = set_document(store_d)
    assert document["current"]["version"] == second and "loading" not in document
    assert stored_versions(store_d) == [second] and document["retired"] == []  # grace 0 in tests
    assert store_d.count_variants(EVERYTHING) == 2


def test_the_carrier_chunks_of_a_version_go_with_it(store_d):
    def chunk_versions() -> list[int]:
        return sorted(store_d.database()[CARRIERS].distinct("v"))

    load(store_d, DELETION)  # carried by S1
    first = set_document(store_d)["current"]["version"]
    replacing = store_d.begin_variant_load(D, replace=True)
    replacing.add([dataclasses.replace(DELETION, carriers=(("S2", None),))])
    second = set_document(store_d)["loading"]["version"]
    assert chunk_versions() == [first, second]
    replacing.abort()  # an aborted load leaves no chunk behind
    assert chunk_versions() == [first] and store_d.variant_carriers(D, DELETION.variant_id) == ["S1"]
    load(store_d, dataclasses.replace(DELETION, carriers=(("S2", None),)), replace=True)
    assert chunk_versions() == [set_document(store_d)["current"]["version"]]  # the replaced version's are gone
    assert store_d.variant_carriers(D, DELETION.variant_id) == ["S2"]
    assert store_d.remove_dataset(D)
    assert chunk_versions() == []


def test_a_replaced_version_stays_until_the_grace_period_has_passed(store_d):
    store_d.write_options = dataclasses.replace(store_d.write_options, cleanup_grace=0.3)
    load(store_d, SNV)
    first = set_document(store_d)["current"]["version"]
    load(store_d, MNP, replace=True)  # waits the grace period, then deletes the first version
    assert first not in stored_versions(store_d)
    document = set_document(store_d)
    document["retired"] = [{"version": first, "at": time.time()}]  # as a loader killed while waiting leaves it
    store_d.database()[STATE].replace_one({"_id": document["_id"]}, document)
    store_d.database()[VARIANTS].insert_one({"v": first, "variant_id": "left over"})
    state_before = set_document(store_d)
    store_d.begin_variant_load(D, replace=True).abort()  # too early: the grace period has not passed
    assert first in stored_versions(store_d) and set_document(store_d)["retired"] == state_before["retired"]
    time.sleep(0.3)
    store_d.begin_variant_load(D, replace=True).abort()
    assert first not in stored_versions(store_d) and set_document(store_d)["retired"] == []


def test_a_live_load_elsewhere_turns_a_second_load_away(store_d):
    remote = {"version": 999, "host": "another-host", "pid": 1, "expires_at": time.time() + 3600}
    document = {"_id": f"variants/{D}", "kind": "variant_set", "dataset": D, "loading": remote, "retired": []}
    store_d.database()[STATE].insert_one(document)
    with pytest.raises(StoreError, match="another load of dataset 'D1' is running"):
        store_d.begin_variant_load(D, replace=True)
    assert set_document(store_d)["loading"] == remote


def test_an_expired_load_is_taken_over_and_what_it_wrote_deleted(store_d):
    dead = {"version": 999, "host": "another-host", "pid": 1, "expires_at": time.time() - 1}
    document = {"_id": f"variants/{D}", "kind": "variant_set", "dataset": D, "loading": dead, "retired": []}
    store_d.database()[STATE].insert_one(document)
    store_d.database()[VARIANTS].insert_many([{"v": 999, "variant_id": f"ghost{i}"} for i in range(3)])
    load(store_d, SNV)
    assert stored_versions(store_d) == [set_document(store_d)["current"]["version"]]
    assert set_document(store_d).get("abandoned", []) == []
    assert [d.variant_id for d in store_d.find_variants(EVERYTHING)] == [SNV.variant_id]


def test_a_load_that_lost_its_claim_can_neither_write_nor_commit(store_d):
    first = store_d.begin_variant_load(D)
    first.add([SNV])
    second = store_d.begin_variant_load(D)  # this process again: the first load counts as abandoned
    with pytest.raises(LostLock, match="lost its claim"):
        first.add([MNP])
    with pytest.raises(LostLock):
        first.commit()
    second.add([DELETION])
    second.commit()
    assert stored_versions(store_d) == [set_document(store_d)["current"]["version"]]
    assert [d.variant_id for d in store_d.find_variants(EVERYTHING)] == [DELETION.variant_id]


def test_abort_after_commit_changes_nothing(store_d):
    variant_load = store_d.begin_variant_load(D)
    variant_load.add([SNV])
    variant_load.commit()
    variant_load.abort()  # what a caller's `except: abort()` does when something fails after the commit
    assert store_d.count_variants(EVERYTHING) == 1


def test_one_load_holds_one_assembly(store_d):
    variant_load = store_d.begin_variant_load(D)
    with pytest.raises(StoreError, match="one assembly"):
        variant_load.add([SNV, dataclasses.replace(MNP, assembly="GRCh37")])
    variant_load.abort()
    assert store_d.database()[VARIANTS].count_documents({}) == 0 and "loading" not in set_document(store_d)


def test_a_removed_dataset_loses_its_variants_at_once_and_its_documents_after_the_grace(store_d):
    load(store_d, SNV, MNP)
    db, options = store_d.database(), dataclasses.replace(store_d.write_options, cleanup_grace=3600)
    assert mongo_writes.remove_dataset(db, D, options)  # the removal's one step, before its grace period
    assert store_d.count_variants(EVERYTHING) == 0 and store_d.variant_assemblies() == set()
    assert store_d.variant_annotations() == set() and store_d.variant_carriers(D, SNV.variant_id) == []
    assert db[VARIANTS].count_documents({}) == 2  # still there for readers that saw the dataset
    state.finish_removal(db, D)  # what a later writer does once the removal has settled
    assert db[VARIANTS].count_documents({}) == 0 and set_document(store_d) is None


def test_removing_a_dataset_deletes_its_variants_after_the_grace_period(store_d):
    load(store_d, SNV, MNP)
    assert store_d.remove_dataset(D)  # grace 0 in tests
    assert store_d.database()[VARIANTS].count_documents({}) == 0 and set_document(store_d) is None


def test_a_load_running_while_its_dataset_is_removed_cannot_commit(store_d):
    variant_load = store_d.begin_variant_load(D)
    variant_load.add([SNV])
    store_d.remove_dataset(D)
    state.clean_up(store_d.database(), store_d.write_options)  # what the next writer does (grace 0)
    with pytest.raises(LostLock):
        variant_load.commit()
    assert store_d.database()[VARIANTS].count_documents({}) == 0


def test_counts_are_answered_from_the_indexes_alone(mongo_store, request):
    """On a real server: each count's plan scans an index and reads no document (no FETCH, no COLLSCAN)."""
    if request.node.callspec.params["mongo_store"] != "mongo":
        pytest.skip("query plans exist on a real MongoDB server only (set BEACON_TEST_MONGO_URI)")
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    load(mongo_store, SNV, MNP, DELETION, variant(7570000, "A" + "C" * 2999, "A"))
    variant_set = VariantSet.from_document(set_document(mongo_store)["current"])
    queries = [
        VariantQuery(D, chromosome="17", start=7577120, norm_start=7577120, norm_ref="C", norm_alt="T"),
        VariantQuery(D, chromosome="17", kind="range", start=7572000, end=7577150),
        VariantQuery(
            D, chromosome="17", kind="bracket", start=7577100, start_max=7577200, end_min=7577121, end=7577202
        ),
    ]
    for query in queries:
        for part in variant_filters(query, variant_set):
            pipeline = [{"$match": part}, {"$group": {"_id": 1, "n": {"$sum": 1}}}]  # what count_documents sends
            command = {"aggregate": VARIANTS, "pipeline": pipeline, "cursor": {}}
            plan = str(mongo_store.database().command("explain", command, verbosity="queryPlanner"))
            assert "IXSCAN" in plan and "FETCH" not in plan and "COLLSCAN" not in plan, (query.kind, plan)


def test_every_stored_variant_holds_the_shard_key_and_positional_filters_name_its_prefix(store_d):
    from beacon.store.mongo.sharding import SHARD_KEY

    assert list(SHARD_KEY) == ["assembly", "chromosome", "bucket", "v", "start"]  # hashed bucket, ranged suffix
    assert SHARD_KEY["bucket"] == "hashed" and list(SHARD_KEY.values()).count("hashed") == 1
    load(store_d, SNV, MNP, DELETION)
    for stored in store_d.database()[VARIANTS].find({}, {"_id": 0}):
        assert set(SHARD_KEY) <= set(stored)
    from beacon.store.mongo.sharding import CARRIER_SHARD_KEY

    assert list(CARRIER_SHARD_KEY) == [*SHARD_KEY, "n"]  # a variant's chunks split apart by number
    chunks = list(store_d.database()[CARRIERS].find({}, {"_id": 0}))
    assert chunks and all(set(CARRIER_SHARD_KEY) <= set(chunk) for chunk in chunks)
    variant_set = VariantSet(version=7, assembly="GRCh38", max_short_span=2)
    positional = [
        VariantQuery(D, kind="range", chromosome="17", start=7_577_000, end=7_578_000),
        VariantQuery(D, kind="sequence", chromosome="17", start=7_577_120, norm_start=7_577_120, alternate_bases="T"),
        build_id_query(D, SNV.variant_id),
    ]
    for query in positional:
        for part in variant_filters(query, variant_set):
            assert {"assembly", "chromosome", "bucket"} <= set(part)  # mongos can target the owning shards


def test_queries_without_a_position_are_hinted_to_their_own_index(store_d):
    from beacon.store.mongo.lookups import LOOKUP_INDEXES
    from beacon.store.mongo.state import VARIANT_INDEXES
    from beacon.store.mongo.variant_queries import index_hint

    names = {index.document["name"] for index in (*VARIANT_INDEXES, *LOOKUP_INDEXES)}
    carriers = frozenset({"S1"})
    expected = {
        # A gene is `$or` of two indexed fields (any case, or as loaded): planned clause by clause, never hinted.
        VariantQuery(D, kind="gene", gene_id="TP53"): None,
        VariantQuery(D, kind="all", rs_id="rs28934576"): "by_rs_id",
        VariantQuery(D, kind="all", protein_id="ENSP00000269305.4:p.R175H"): "by_protein_key",
        VariantQuery(D, kind="all", aminoacid_change="V600E"): "by_aminoacid_change",
        VariantQuery(D, kind="all", biosample_ids=carriers): "by_variant_id",  # among those its chunks name
        VariantQuery(D, kind="gene", gene_id="TP53", biosample_ids=carriers): None,
        VariantQuery(D, kind="range", chromosome="17", start=1, end=9, gene_id="TP53"): None,  # bounded by position
        EVERYTHING: None,
    }
    for query, hint in expected.items():
        assert index_hint(query) == hint
        assert hint is None or hint in names  # a hint naming no index fails on a real server
    load(store_d, DELETION)  # the hinted queries run (mongomock accepts hints; plans: the real-server harness)
    gene = VariantQuery(D, kind="gene", gene_id="TP53", limit=10)
    assert store_d.count_variants(gene) == 1 and len(store_d.find_variants(gene)) == 1
    from beacon.store.mongo.state import CARRIER_INDEXES

    # The two steps of a biosample query: the chunks by biosample (`by_carrier`), then the variants by id.
    assert {"by_carrier", "by_variant"} <= {index.document["name"] for index in CARRIER_INDEXES}
    carried = VariantQuery(D, kind="all", biosample_ids=carriers, limit=10)
    assert store_d.count_variants(carried) == 1
    assert [found.variant_id for found in store_d.find_variants(carried)] == [DELETION.variant_id]
