"""Metadata writes on MongoDB: all-or-nothing loads and dataset removal (protocol in `mongo_state`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pymongo.database import Database

from beacon.store.base import DuplicateRecordError, MetadataBatch, UnknownDatasetError
from beacon.store.mongo import state
from beacon.store.mongo.codec import encode_record, index_terms, index_values, is_bson_text
from beacon.store.mongo.queries import Visibility, eq, require_text
from beacon.store.mongo.summaries import write_summaries

RecordKey = tuple[str, str]


def new_load_id() -> str:
    """A fresh id for one write (random, so concurrent writers never share one)."""
    return uuid.uuid4().hex


@contextmanager
def write_lock(db: Database, owner: str, options: state.WriteOptions) -> Iterator[None]:
    """Hold the store's write lock (finishing settled clean-ups first); released on the way out."""
    state.acquire_lock(db, owner, options)
    try:
        state.clean_up(db, options, owner)
        yield
    finally:
        state.release_lock(db, owner)  # a no-op after a commit, which releases it itself


def put_metadata(db: Database, batch: MetadataBatch, replace: bool, options: state.WriteOptions) -> dict[str, int]:
    """Write a batch all-or-nothing; see Store.put_metadata for the errors it raises."""
    load_id = new_load_id()
    with write_lock(db, load_id, options):
        _settle_removals(db, batch, options)
        visibility = state.read_visibility(db)
        documents, superseded = _plan(db, batch, replace, visibility, load_id)
        try:
            _insert(db, documents, load_id, options)
            _mark_superseded(db, superseded, load_id, options)
            write_summaries(db, state.RECORDS, documents, visibility, load_id)
        except BaseException:
            state.discard_load(db, load_id)  # nothing was visible yet; leave no litter either
            raise
        state.flip(db, load_id, {"$push": {"committed": {"load": load_id, "at": time.time()}}})
    return {entity: len(records) for entity, records in batch.records.items()}


def remove_dataset(db: Database, dataset_id: str, options: state.WriteOptions) -> bool:
    """Make a dataset and everything in it disappear in one step; False if it is not there."""
    require_text(dataset_id, "dataset_id")
    owner = new_load_id()
    with write_lock(db, owner, options):
        visibility = state.read_visibility(db)
        if dataset_id in visibility.removed or dataset_id not in _visible_dataset_ids(db, visibility, [dataset_id]):
            return False
        state.flip(db, owner, {"$push": {"removed": {"dataset": dataset_id, "at": time.time()}}})
    return True


def _settle_removals(db: Database, batch: MetadataBatch, options: state.WriteOptions) -> None:
    """A dataset being loaded again must first be fully deleted (after readers' grace period)."""
    for record in batch.records.get("datasets", []):
        settles_at = state.removal_settles_at(db, record["id"], options)
        if settles_at is not None:
            time.sleep(max(0.0, settles_at - time.time()))
            state.finish_removal(db, record["id"])


def _plan(
    db: Database, batch: MetadataBatch, replace: bool, visibility: Visibility, load_id: str
) -> tuple[list[dict[str, Any]], list[Any]]:
    """The documents to insert and the `_id`s they replace; raises before anything is written."""
    batch_datasets = [record["id"] for record in batch.records.get("datasets", [])]
    stored = set(_visible_dataset_ids(db, visibility, None))
    known = stored | set(batch_datasets)
    documents: dict[RecordKey, dict[str, Any]] = {}
    existing: dict[RecordKey, Any] = {}
    for entity, records in batch.records.items():
        existing.update(_visible_ids(db, visibility, entity, [record["id"] for record in records]))
        for record in records:
            document = _document(entity, record, load_id)
            dataset_id = document["dataset_id"]
            if not isinstance(dataset_id, str) or dataset_id not in known:
                raise UnknownDatasetError(str(dataset_id), entity, document["id"])
            key = (entity, document["id"])
            if (key in existing or key in documents) and not replace:
                raise DuplicateRecordError(entity, document["id"])
            documents[key] = document
    return list(documents.values()), [existing[key] for key in documents if key in existing]


def _document(entity: str, record: dict[str, Any], load_id: str) -> dict[str, Any]:
    record_id = require_text(record.get("id"), f"{entity} record id")
    dataset_id = record_id if entity == "datasets" else record.get("datasetId")
    for name, text in (("record id", record_id), ("datasetId", dataset_id)):
        if isinstance(text, str) and not is_bson_text(text):
            raise ValueError(f"{entity} {name} {text!r} is not valid Unicode text")
    return {
        "entity": require_text(entity, "entity"),
        "id": record_id,
        "dataset_id": dataset_id,
        "load": load_id,
        "doc": encode_record(record),
        "terms": index_terms(record),
        "values": index_values(record),
    }


def _visible_dataset_ids(db: Database, visibility: Visibility, only: Sequence[str] | None) -> list[str]:
    mongo_filter: dict[str, Any] = {"entity": eq("datasets"), **visibility.datasets_clause()}
    if only is not None:
        mongo_filter["id"] = {"$in": list(only)}
    return [document["id"] for document in db[state.RECORDS].find(mongo_filter, {"id": 1})]


def _visible_ids(db: Database, visibility: Visibility, entity: str, ids: list[Any]) -> dict[RecordKey, Any]:
    """`_id`s of the visible records of an entity with these ids (in any dataset not being removed)."""
    found: dict[RecordKey, Any] = {}
    wanted = sorted({record_id for record_id in ids if isinstance(record_id, str) and is_bson_text(record_id)})
    for start in range(0, len(wanted), 10_000):
        chunk = wanted[start : start + 10_000]
        mongo_filter = {"entity": eq(entity), "id": {"$in": chunk}, **visibility.datasets_clause()}
        for document in db[state.RECORDS].find(mongo_filter, {"id": 1}):
            found[(entity, document["id"])] = document["_id"]
    return found


def _insert(db: Database, documents: list[dict[str, Any]], load_id: str, options: state.WriteOptions) -> None:
    for start in range(0, len(documents), options.batch_size):
        db[state.RECORDS].insert_many(documents[start : start + options.batch_size], ordered=False)
        state.refresh_lock(db, load_id, options)


def _mark_superseded(db: Database, superseded: list[Any], load_id: str, options: state.WriteOptions) -> None:
    for start in range(0, len(superseded), options.batch_size):
        chunk = superseded[start : start + options.batch_size]
        db[state.RECORDS].update_many({"_id": {"$in": chunk}}, {"$set": {"superseded_by": load_id}})
        state.refresh_lock(db, load_id, options)
