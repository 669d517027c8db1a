"""A commit whose reply is lost must never cost the live variants (issue 18, item 1).

The pointer update of a variant load's commit is applied on the server, then its reply is lost (a
network error or a write-concern error, injected by wrapping the collection as a failing network
would). Neither the commit's own recovery nor the `abort` a loader runs after any error may delete
the version the pointer now names. Runs on the mongomock stand-in; on a real server the same is
checked with the `failCommand` failpoint (tests/store/test_mongo_real_server.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, PyMongoError, WriteConcernError

from beacon.store.base import MetadataBatch, StoreError, VariantQuery
from beacon.store.mongo.state import STATE, VARIANTS
from tests.store.test_variant_contract import MNP, SNV

D = "D1"
EVERYTHING = VariantQuery(D, kind="all", limit=100)


class _LossyCollection:
    """A collection whose pointer updates are applied, then answered by an error (the reply is lost)."""

    def __init__(self, collection: Any, plan: dict[str, Any]) -> None:
        self._collection = collection
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def update_one(self, condition: Mapping[str, Any], update: Mapping[str, Any], **kwargs: Any) -> Any:
        result = self._collection.update_one(condition, update, **kwargs)
        if "current" in update.get("$set", {}) and self._plan["lose_commit_reply"]:
            self._plan["lose_commit_reply"] = False
            self._plan["reads_fail"] = self._plan.get("then_reads_fail", False)
            raise self._plan["error"]
        return result

    def find_one(self, *args: Any, **kwargs: Any) -> Any:
        if self._plan["reads_fail"]:
            raise AutoReconnect("connection closed")
        return self._collection.find_one(*args, **kwargs)


class _LossyDatabase:
    """The store's database with the state collection wrapped (`_LossyCollection`)."""

    def __init__(self, db: Any, plan: dict[str, Any]) -> None:
        self._db = db
        self._plan = plan

    def __getitem__(self, name: str) -> Any:
        collection = self._db[name]
        return _LossyCollection(collection, self._plan) if name == STATE else collection


def _write_concern_error() -> PyMongoError:
    return WriteConcernError("waiting for replication timed out", 64, {"errInfo": {"wtimeout": True}})


@pytest.fixture
def store_d(mongo_store):
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    first = mongo_store.begin_variant_load(D)
    first.add([SNV])
    first.commit()
    return mongo_store


def _lossy_load(store: Any, plan: dict[str, Any]) -> Any:
    """A replacing load whose database loses the reply of the pointer update."""
    variant_load = store.begin_variant_load(D, replace=True)
    variant_load.add([MNP])
    variant_load._load._db = _LossyDatabase(store.database(), plan)
    return variant_load


def _current_version(store: Any) -> int:
    return store.database()[STATE].find_one({"_id": f"variants/{D}"})["current"]["version"]


@pytest.mark.parametrize("error", [_write_concern_error(), AutoReconnect("connection reset by peer")])
def test_a_commit_whose_reply_is_lost_finds_itself_applied(store_d, error):
    plan = {"lose_commit_reply": True, "reads_fail": False, "error": error}
    variant_load = _lossy_load(store_d, plan)
    variant_load.commit()  # re-reads the pointer: applied, so the commit succeeded
    variant_load.abort()  # what a caller's `except: abort()` would do after a later failure
    assert plan["lose_commit_reply"] is False  # the reply was indeed lost
    assert [document.variant_id for document in store_d.find_variants(EVERYTHING)] == [MNP.variant_id]
    assert store_d.database()[VARIANTS].distinct("v") == [_current_version(store_d)]


def test_abort_after_a_lost_reply_it_could_not_check_keeps_the_new_current_version(store_d):
    plan = {"lose_commit_reply": True, "reads_fail": False, "error": AutoReconnect("connection reset by peer")}
    plan["then_reads_fail"] = True  # the re-read fails too: the commit cannot tell and reports the error
    variant_load = _lossy_load(store_d, plan)
    with pytest.raises(StoreError, match="not reachable"):
        variant_load.commit()
    plan["reads_fail"] = False  # the network is back when the loader aborts
    variant_load.abort()
    new_version = _current_version(store_d)
    assert store_d.database()[VARIANTS].count_documents({"v": new_version}) == 1  # not deleted
    assert [document.variant_id for document in store_d.find_variants(EVERYTHING)] == [MNP.variant_id]
    replacing = store_d.begin_variant_load(D, replace=True)  # the next load's clean-up keeps it too
    replacing.abort()
    assert store_d.count_variants(EVERYTHING) == 1


def test_abort_before_the_pointer_moved_deletes_the_new_version_only(store_d):
    old_version = _current_version(store_d)
    variant_load = store_d.begin_variant_load(D, replace=True)
    variant_load.add([MNP])
    variant_load.abort()
    assert store_d.database()[VARIANTS].distinct("v") == [old_version]
    assert [document.variant_id for document in store_d.find_variants(EVERYTHING)] == [SNV.variant_id]


def test_an_abandoned_entry_naming_the_current_version_never_deletes_it(store_d):
    current = _current_version(store_d)
    store_d.database()[STATE].update_one({"_id": f"variants/{D}"}, {"$addToSet": {"abandoned": current}})
    store_d.begin_variant_load(D, replace=True).abort()  # its clean-up walks the abandoned list
    assert store_d.count_variants(EVERYTHING) == 1
    assert store_d.database()[STATE].find_one({"_id": f"variants/{D}"}).get("abandoned", []) == []
