"""Long clean-ups keep their lease (issue 18, item 6): deletions run in batches, the lease renewed between two.

A removal or a dead load's leftovers may be 10^8 documents; a single `delete_many` would outlive the
write lock's lease (or a variant load's claim), and another writer would take over mid-deletion.
Batches are made small here so that a handful of documents shows the renewals.
"""

from __future__ import annotations

import time

from beacon.store.base import MetadataBatch, VariantQuery
from beacon.store.mongo import state
from beacon.store.mongo.state import METADATA_ID, RECORDS, STATE, VARIANTS


def individuals(count: int) -> list[dict]:
    return [{"id": f"i{number}", "datasetId": "A"} for number in range(count)]


def test_a_removal_finished_under_the_lock_renews_the_lease_between_batches(mongo_store, monkeypatch):
    monkeypatch.setattr(state, "DELETE_BATCH", 3)
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "A"}], "individuals": individuals(10)}))
    db, options = mongo_store.database(), mongo_store.write_options
    db[STATE].update_one({"_id": METADATA_ID}, {"$push": {"removed": {"dataset": "A", "at": 0.0}}})
    state.acquire_lock(db, "writer", options)
    db[STATE].update_one({"_id": METADATA_ID}, {"$set": {"lock.expires_at": time.time() + 1}})  # about to expire
    renewals: list[float] = []
    real_refresh = state.refresh_lock

    def recording_refresh(*args, **kwargs):
        real_refresh(*args, **kwargs)
        renewals.append(db[STATE].find_one({"_id": METADATA_ID})["lock"]["expires_at"])

    monkeypatch.setattr(state, "refresh_lock", recording_refresh)
    state.clean_up(db, options, "writer")
    assert db[RECORDS].count_documents({"dataset_id": "A"}) == 0
    assert len(renewals) >= 4  # 11 records (the dataset and 10 individuals) in batches of 3
    assert all(expires > time.time() + options.lock_lease - 60 for expires in renewals)
    state.release_lock(db, "writer")


def test_delete_in_batches_deletes_everything_matching_and_nothing_else(mongo_store, monkeypatch):
    monkeypatch.setattr(state, "DELETE_BATCH", 4)
    db = mongo_store.database()
    db[VARIANTS].insert_many([{"v": 1, "n": number} for number in range(10)] + [{"v": 2, "n": 0}])
    calls: list[int] = []
    deleted = state.delete_in_batches(db, VARIANTS, {"v": 1}, lambda: calls.append(1))
    assert deleted == 10 and len(calls) == 3  # 4 + 4 + 2
    assert list(db[VARIANTS].find({}, {"_id": 0})) == [{"v": 2, "n": 0}]


def test_a_load_taking_over_a_dead_one_renews_its_claim_while_deleting_what_it_left(mongo_store, monkeypatch):
    from tests.store.test_variant_contract import SNV

    monkeypatch.setattr(state, "DELETE_BATCH", 2)
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "D1"}]}))
    db = mongo_store.database()
    dead = {"version": 999, "host": "elsewhere", "pid": 1, "expires_at": time.time() - 1}
    db[STATE].insert_one({"_id": "variants/D1", "kind": "variant_set", "dataset": "D1", "loading": dead, "retired": []})
    db[VARIANTS].insert_many([{"v": 999, "n": number} for number in range(7)])
    renewed: list[float] = []
    real_delete = state.delete_in_batches

    def watching(db_, collection, condition, keep_alive):
        def renew_and_record():
            keep_alive()
            renewed.append(db[STATE].find_one({"_id": "variants/D1"})["loading"]["expires_at"])

        return real_delete(db_, collection, condition, None if keep_alive is None else renew_and_record)

    monkeypatch.setattr(state, "delete_in_batches", watching)
    variant_load = mongo_store.begin_variant_load("D1")
    assert db[VARIANTS].count_documents({"v": 999}) == 0 and len(renewed) == 4  # 2 + 2 + 2 + 1
    variant_load.add([SNV])
    variant_load.commit()
    assert mongo_store.count_variants(VariantQuery("D1", kind="all")) == 1
