"""What only a real MongoDB server can show (issue 18): failures injected by the server, and query plans.

Run by `make test-mongo` (a MongoDB 7 replica set in Docker, docker/compose.test-mongo.yml); every test
here skips when BEACON_TEST_MONGO_URI is unset, as on the CI machines, which cannot run a MongoDB server.
NOT YET RUN against a real server by the team (see README "MongoDB").

- failures: the `failCommand` failpoint answers the pointer update of a variant commit with a
  write-concern error (the update applied, its success not confirmed) or closes the connection;
  `stopReplProducer` on the secondary makes it lag while the store is asked to read from it;
- plans (`explain`): no COLLSCAN on the request paths, `totalDocsExamined == 0` for variant counts,
  and on a sharded cluster (a mongos URI) one shard for a positional query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pymongo
import pytest

from beacon.store.base import MetadataBatch, RecordQuery, TermCondition, ValueCondition, VariantQuery
from beacon.store.mongo import MongoStore
from beacon.store.mongo.state import RECORDS, STATE, VARIANTS
from beacon.store.mongo.summaries import SUMMARIES
from beacon.store.mongo.variant_queries import VariantSet, find_filter, index_hint, variant_filters
from tests.store.conftest import TEST_WRITE_OPTIONS, open_mongo
from tests.store.test_variant_contract import DELETION, MNP, SNV, variant

pytestmark = pytest.mark.mongo
D = "D1"
EVERYTHING = VariantQuery(D, kind="all", limit=100)
WRITE_CONCERN_ERROR = {
    "code": 64,
    "codeName": "WriteConcernFailed",
    "errmsg": "injected",
    "errInfo": {"wtimeout": True},
}


@pytest.fixture
def server(real_mongo: tuple[str, str]) -> Iterator[tuple[MongoStore, pymongo.MongoClient]]:
    """The store on a fresh database of the real server, and a plain client for the failpoints."""
    uri, database = real_mongo
    store = open_mongo(uri, database, write_options=TEST_WRITE_OPTIONS)
    client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=4000)
    yield store, client
    client.admin.command("configureFailPoint", "failCommand", mode="off")
    store.close()
    client.close()


def _with_variants(store: MongoStore, *documents: Any) -> None:
    if not store.list_datasets():
        store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    variant_load = store.begin_variant_load(D, replace=True)
    variant_load.add(list(documents))
    variant_load.commit()


def _fail_next_update(client: pymongo.MongoClient, **failure: Any) -> None:
    data = {"failCommands": ["update"], "appName": "beacon", **failure}
    client.admin.command("configureFailPoint", "failCommand", mode={"times": 1}, data=data)


@pytest.mark.parametrize("failure", [{"writeConcernError": WRITE_CONCERN_ERROR}, {"closeConnection": True}])
def test_a_commit_whose_pointer_update_fails_on_the_server_never_loses_the_live_version(server, failure):
    store, client = server
    _with_variants(store, SNV)
    variant_load = store.begin_variant_load(D, replace=True)
    variant_load.add([MNP])
    _fail_next_update(client, **failure)  # the commit's next update is the pointer switch
    try:
        variant_load.commit()
    except Exception:  # a caller aborts after any error
        variant_load.abort()
    found = [document.variant_id for document in store.find_variants(EVERYTHING)]
    assert found in ([MNP.variant_id], [SNV.variant_id])  # the new version or the old one, never nothing
    current = store.database()[STATE].find_one({"_id": f"variants/{D}"})["current"]["version"]
    assert store.database()[VARIANTS].count_documents({"v": current}) == 1


def test_the_store_reads_from_the_primary_even_when_a_secondary_lags(server, real_mongo):
    store, client = server
    hosts = client.admin.command("hello").get("hosts", [])
    secondaries = [host for host in hosts if host != client.admin.command("hello").get("primary")]
    if len(secondaries) < 2:  # one lags; majority writes need the other
        pytest.skip("fewer than two secondaries: set BEACON_TEST_MONGO_URI to a replica set of three (make test-mongo)")
    secondary = pymongo.MongoClient(f"mongodb://{secondaries[0]}/?directConnection=true")
    secondary.admin.command("configureFailPoint", "stopReplProducer", mode="alwaysOn")
    try:
        uri, database = real_mongo
        with pytest.raises(ValueError, match="primary"):
            open_mongo(uri + ("&" if "?" in uri else "?") + "readPreference=secondary", database)
        lagging = pymongo.MongoClient(uri, readPreference="secondary", w=1)
        on_lagging_client = MongoStore.from_client(lagging, database, write_options=TEST_WRITE_OPTIONS)
        _with_variants(store, SNV)
        _with_variants(on_lagging_client, MNP)  # written and read through a secondary-preferring client
        assert [d.variant_id for d in on_lagging_client.find_variants(EVERYTHING)] == [MNP.variant_id]
        lagging.close()
    finally:
        secondary.admin.command("configureFailPoint", "stopReplProducer", mode="off")
        secondary.close()


def _explain(db: Any, command: dict[str, Any]) -> dict[str, Any]:
    return db.command("explain", command, verbosity="executionStats")


def _values_of(plan: Any, key: str) -> list[Any]:
    """Every value of `key` anywhere in an explain document."""
    if isinstance(plan, dict):
        return ([plan[key]] if key in plan else []) + [
            found for value in plan.values() for found in _values_of(value, key)
        ]
    if isinstance(plan, list):
        return [found for value in plan for found in _values_of(value, key)]
    return []


def _stages(plan: Any) -> list[str]:
    if isinstance(plan, dict):
        found = [plan["stage"]] if isinstance(plan.get("stage"), str) else []
        return found + [stage for value in plan.values() for stage in _stages(value)]
    if isinstance(plan, list):
        return [stage for value in plan for stage in _stages(value)]
    return []


def test_no_request_path_scans_a_whole_collection(server):
    store, _client = server
    female = {"id": "NCIT:C16576", "label": "female"}
    individuals = [{"id": f"i{n}", "datasetId": D, "sex": female, "age": n} for n in range(50)]
    store.put_metadata(MetadataBatch({"datasets": [{"id": D}], "individuals": individuals}))
    _with_variants(store, SNV, MNP, DELETION)  # the dataset exists: variants only
    db = store.database()
    visibility = {"load": {"$in": ["live"]}}
    record_filters = [
        {"entity": "individuals", "dataset_id": D, **visibility},
        {"entity": "individuals", "dataset_id": D, "terms.id": {"$in": [female["id"]]}, **visibility},
        {"entity": "individuals", "dataset_id": D, "values": {"$elemMatch": {"p": "age", "n": {"$gt": 10.0}}}},
    ]
    commands = [{"find": RECORDS, "filter": query, "sort": {"id": 1}, "limit": 10} for query in record_filters]
    commands.append({"find": SUMMARIES, "filter": {"dataset_id": D, "entity": "individuals", **visibility}})
    variant_set = VariantSet.from_document(db[STATE].find_one({"_id": f"variants/{D}"})["current"])
    for query in (VariantQuery(D, kind="gene", gene_id="TP53"), build_range(), VariantQuery(D, kind="all")):
        command: dict[str, Any] = {"find": VARIANTS, "filter": find_filter(query, variant_set), "limit": 10}
        command["sort"] = {"chromosome": 1, "start": 1, "variant_id": 1}
        if hint := index_hint(query):
            command["hint"] = hint
        commands.append(command)
    for command in commands:
        stages = _stages(_explain(db, command)["queryPlanner"])
        assert "COLLSCAN" not in stages, (command, stages)


def test_the_carrier_steps_use_their_indexes(server):
    """Case-level data (mongo_carriers): biosample -> variants on `by_carrier`, variant -> carriers on `by_variant`,
    and the semi-join's second step on `by_variant_id`; none scans a collection."""
    import dataclasses

    from beacon.store.mongo.carriers import carrier_filter
    from beacon.store.mongo.state import CARRIERS

    store, _client = server
    crowd = tuple((f"S{number}", "heterozygous") for number in range(25_000))  # three chunks
    _with_variants(store, dataclasses.replace(SNV, carriers=crowd), dataclasses.replace(MNP, carriers=(("S1", None),)))
    db = store.database()
    variant_set = VariantSet.from_document(db[STATE].find_one({"_id": f"variants/{D}"})["current"])
    carried = VariantQuery(D, kind="all", biosample_ids=frozenset({"S1", "S24999"}))
    chunk_step = {"find": CARRIERS, "filter": carrier_filter(variant_set.version, carried), "hint": "by_carrier"}
    page_step = {"find": CARRIERS, "filter": {"v": variant_set.version, "variant_id": {"$in": [SNV.variant_id]}}}
    page_step |= {"sort": {"variant_id": 1, "n": 1}, "hint": "by_variant"}
    variant_step = {"find": VARIANTS, "filter": find_filter(carried, variant_set, [SNV.variant_id, MNP.variant_id])}
    variant_step |= {"sort": {"chromosome": 1, "start": 1, "variant_id": 1}, "hint": index_hint(carried), "limit": 10}
    for command in (chunk_step, page_step, variant_step):
        plan = _explain(db, command)
        assert "COLLSCAN" not in _stages(plan["queryPlanner"]), (command, plan)
        assert set(_values_of(plan, "indexName")) == {command["hint"]}, plan
    assert store.count_variants(carried) == 2 and len(store.variant_carriers(D, SNV.variant_id)) == 25_000


def build_range() -> VariantQuery:
    return VariantQuery(D, chromosome="17", kind="range", start=7572000, end=7577150)


def test_variant_counts_read_no_document(server):
    store, _client = server
    _with_variants(store, SNV, MNP, DELETION, variant(7570000, "A" + "C" * 2999, "A"))
    db = store.database()
    variant_set = VariantSet.from_document(db[STATE].find_one({"_id": f"variants/{D}"})["current"])
    queries = [
        VariantQuery(D, chromosome="17", start=7577120, norm_start=7577120, norm_ref="C", norm_alt="T"),
        build_range(),
        VariantQuery(
            D, chromosome="17", kind="bracket", start=7577100, start_max=7577200, end_min=7577121, end=7577202
        ),
    ]
    for query in queries:
        for part in variant_filters(query, variant_set):
            pipeline = [{"$match": part}, {"$group": {"_id": 1, "n": {"$sum": 1}}}]  # what count_documents sends
            stats = _explain(db, {"aggregate": VARIANTS, "pipeline": pipeline, "cursor": {}})
            examined = _values_of(stats, "totalDocsExamined")
            assert examined and set(examined) == {0}, (query.kind, stats)


def test_a_positional_query_goes_to_one_shard(server):
    store, client = server
    if client.admin.command("hello").get("msg") != "isdbgrid":
        pytest.skip("not a sharded cluster: set BEACON_TEST_MONGO_URI to a mongos to run this test")
    from beacon.store.mongo.sharding import shard_variants

    shard_variants(store.database())
    _with_variants(store, SNV, MNP, DELETION)
    db = store.database()
    variant_set = VariantSet.from_document(db[STATE].find_one({"_id": f"variants/{D}"})["current"])
    query = VariantQuery(D, chromosome="17", start=7577120, norm_start=7577120, norm_ref="C", norm_alt="T")
    plan = _explain(db, {"find": VARIANTS, "filter": find_filter(query, variant_set)})["queryPlanner"]["winningPlan"]
    assert plan["stage"] == "SINGLE_SHARD" and len(plan["shards"]) == 1, plan


def test_filter_counts_through_the_store_agree_with_the_records(server):
    store, _client = server
    individuals = [{"id": f"i{n}", "datasetId": D, "age": n} for n in range(20)]
    store.put_metadata(MetadataBatch({"datasets": [{"id": D}], "individuals": individuals}))
    assert store.count_records(RecordQuery("individuals", D)) == 20
    assert store.count_records(RecordQuery("individuals", D, conditions=(ValueCondition("age", ">", 9.0),))) == 10
    assert store.count_records(RecordQuery("individuals", D, conditions=(TermCondition(frozenset({"X:1"})),))) == 0
