"""The MongoDB store's collections, indexes, schema version, and the state document behind atomic writes.

**Why not transactions.** Multi-document transactions need a replica set or a sharded cluster (not a
standalone server), abort after 60 s by default and are meant for small writes, not for loading a
few hundred thousand records. So every write uses the same protocol on every deployment, and
relies only on what MongoDB guarantees everywhere: a write to ONE document is atomic.

**The state document** (`store_state`, `_id: "metadata"`) holds `lock` (the single writer),
`committed` (loads made visible whose clean-up is pending), `removed` (datasets removed whose
records are still being deleted) and `abandoned` (loads of writers that died holding the lock).

**A write** (`beacon.store.mongo.writes`): take the lock (one conditional update); insert the new
records with `load: <new id>` — invisible, since readers only see `live` and committed loads;
mark the records they replace `superseded_by: <new id>` — no visible change, since only
committed ids hide a record; then commit with ONE update of the state document that pushes the id
to `committed` and releases the lock, but only if this writer still holds it. That update is the
moment every new record appears and every replaced one disappears, all at once. A dataset removal
is likewise one update that adds the dataset to `removed`.

**Readers** read the state document, then run one query restricted to visible records
(`mongo_queries.Visibility`). A reader holding a state read from just before a commit keeps a
consistent view of the old records, because nothing changes the stored records after a commit until
`cleanup_grace` seconds have passed (far longer than the 1.5 s a request's reads may take, see
`mongo_budget`): only then does
the next writer delete superseded records, relabel the committed load `live` and drop it from
`committed` (each step idempotent, so a crash in between is finished by the next writer).

**What is not atomic.** A crashed writer leaves invisible records behind until the next writer
deletes them (after the lock's lease expires). Durability of a commit follows the write concern:
use `w=majority` (the default on replica sets since MongoDB 5.0) and read from the primary, or a
reader could see the state document on one member and older records on a lagging one.

Variants and ontologies use the same idea with a pointer per dataset or ontology instead of the
write lock (see `mongo_variants` and `mongo_ontologies`); a dataset removal removes its variants
with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from beacon.store.base import StoreError
from beacon.store.mongo.lookups import LOOKUP_INDEXES
from beacon.store.mongo.queries import LIVE, Visibility
from beacon.store.mongo.summaries import SUMMARIES, SUMMARY_INDEXES, build_all_summaries
from beacon.store.mongo.variant_queries import LONG_SPAN

SCHEMA_VERSION = 4  # 2: variants and ontologies; 3: record summaries, visibility in the record indexes; 4: carriers
RECORDS = "records"
VARIANTS = "g_variants"
CARRIERS = "g_variant_carriers"
ONTOLOGIES = "ontologies"
ONTOLOGY_TERMS = "ontology_terms"
STATE = "store_state"
SCHEMA_ID = "schema"
METADATA_ID = "metadata"
VARIANT_SET_PREFIX = "variants/"
"""`_id` prefix of a dataset's variant set document in `store_state` (`variants/<dataset id>`)."""

# Visibility (`load`, `superseded_by`) closes every record index, so a query's visibility clause is
# decided on index keys and only visible records are fetched.
_VISIBILITY_TAIL = [("load", ASCENDING), ("superseded_by", ASCENDING)]
RECORD_INDEXES = (
    IndexModel(
        [("entity", ASCENDING), ("dataset_id", ASCENDING), ("id", ASCENDING), *_VISIBILITY_TAIL], name="by_dataset"
    ),
    IndexModel([("entity", ASCENDING), ("id", ASCENDING), *_VISIBILITY_TAIL], name="by_id"),
    IndexModel(
        [("entity", ASCENDING), ("dataset_id", ASCENDING), ("terms.id", ASCENDING), *_VISIBILITY_TAIL],
        name="by_term",
    ),
    IndexModel(
        [
            ("entity", ASCENDING),
            ("dataset_id", ASCENDING),
            ("values.p", ASCENDING),
            ("values.s", ASCENDING),
            *_VISIBILITY_TAIL,
        ],
        name="by_text_value",
    ),
    IndexModel(
        [
            ("entity", ASCENDING),
            ("dataset_id", ASCENDING),
            ("values.p", ASCENDING),
            ("values.n", ASCENDING),
            *_VISIBILITY_TAIL,
        ],
        name="by_number_value",
    ),
    IndexModel([("load", ASCENDING)], name="by_load"),
    IndexModel([("superseded_by", ASCENDING)], name="by_superseded", sparse=True),
)
_RECORD_INDEXES_BEFORE_3 = ("by_dataset", "by_id", "by_term", "by_text_value", "by_number_value")

# Every variant query names its dataset version `v` first; the shard key fields (`assembly`,
# `bucket`) close the indexes so that counts are answered from the index alone (covered).
_SHARD_TAIL = [("assembly", ASCENDING), ("bucket", ASCENDING)]
VARIANT_INDEXES = (
    IndexModel(
        [
            ("v", ASCENDING),
            ("chromosome", ASCENDING),
            ("norm_start", ASCENDING),
            ("norm_alt", ASCENDING),
            ("norm_ref", ASCENDING),
            *_SHARD_TAIL,
        ],
        name="by_allele",
    ),
    IndexModel(
        [
            ("v", ASCENDING),
            ("chromosome", ASCENDING),
            ("start", ASCENDING),
            ("variant_id", ASCENDING),
            ("end", ASCENDING),
            *_SHARD_TAIL,
        ],
        name="by_position",
    ),
    IndexModel(
        [
            ("v", ASCENDING),
            ("chromosome", ASCENDING),
            ("start", ASCENDING),
            ("end", ASCENDING),
            ("span", ASCENDING),
            *_SHARD_TAIL,
        ],
        name="by_long_span",
        partialFilterExpression={"span": {"$gt": LONG_SPAN}},
    ),
    IndexModel([("v", ASCENDING), ("variant_id", ASCENDING)], name="by_variant_id"),
    IndexModel(
        [("v", ASCENDING), ("gene_ids", ASCENDING)],
        name="by_gene",
        partialFilterExpression={"gene_ids": {"$exists": True}},
    ),
    IndexModel(
        [("v", ASCENDING), ("aminoacid_changes", ASCENDING)],
        name="by_aminoacid_change",
        partialFilterExpression={"aminoacid_changes": {"$exists": True}},
    ),
)
# A variant's carriers in chunks of their own (`beacon.store.mongo.carriers`): read in order by variant, or
# found by biosample in position order.
CARRIER_INDEXES = (
    IndexModel([("v", ASCENDING), ("variant_id", ASCENDING), ("n", ASCENDING)], name="by_variant"),
    IndexModel(
        [
            ("v", ASCENDING),
            ("b", ASCENDING),
            ("chromosome", ASCENDING),
            ("start", ASCENDING),
            ("variant_id", ASCENDING),
        ],
        name="by_carrier",
    ),
)
_VARIANT_INDEXES_BEFORE_4 = ("by_carrier",)  # on `carriers.b`, which variant documents no longer hold
ONTOLOGY_TERM_INDEXES = (
    IndexModel([("ontology", ASCENDING), ("version", ASCENDING), ("id", ASCENDING)], name="by_ontology"),
)


class StoreBusy(StoreError):
    """Another writer holds the store's write lock."""


class LostLock(StoreError):
    """The write lock expired and another writer took it; nothing of this write was committed."""


@dataclass(frozen=True)
class WriteOptions:
    """Timing of the write protocol, in seconds."""

    cleanup_grace: float = 10.0
    lock_lease: float = 300.0
    lock_wait: float = 30.0
    batch_size: int = 1000


def ensure_schema(db: Database, move_carriers: Callable[[Database], None]) -> None:
    """Create the collections' indexes and the state document, then record the schema version.

    `move_carriers` moves a schema-3 store's embedded carriers into their chunks (`carriers.py`, which
    builds on this module, hence passed in) before the version says they have moved."""
    version = stored_schema_version(db)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(f"MongoDB store schema version {version} is newer than this beacon ({SCHEMA_VERSION})")
    if version is not None and version < 3:
        _drop_indexes(db, RECORDS, _RECORD_INDEXES_BEFORE_3)  # same names, new keys
    db[RECORDS].create_indexes(list(RECORD_INDEXES))
    if version is not None and version < 4:
        _drop_indexes(db, VARIANTS, _VARIANT_INDEXES_BEFORE_4)
    db[VARIANTS].create_indexes([*VARIANT_INDEXES, *LOOKUP_INDEXES])
    db[CARRIERS].create_indexes(list(CARRIER_INDEXES))
    db[ONTOLOGY_TERMS].create_indexes(list(ONTOLOGY_TERM_INDEXES))
    db[SUMMARIES].create_indexes(list(SUMMARY_INDEXES))
    _upsert(db, METADATA_ID, {"$setOnInsert": {"committed": [], "removed": [], "abandoned": []}})
    if version is not None and version < 3:
        build_all_summaries(db, RECORDS, read_visibility(db))
    if version is not None and version < 4:
        move_carriers(db)
    _upsert(db, SCHEMA_ID, {"$max": {"version": SCHEMA_VERSION}})


def _drop_indexes(db: Database, collection: str, names: tuple[str, ...]) -> None:
    existing = set(db[collection].index_information())
    for name in names:
        if name in existing:
            db[collection].drop_index(name)


def _upsert(db: Database, state_id: str, update: Mapping[str, Any]) -> None:
    try:
        db[STATE].update_one({"_id": state_id}, update, upsert=True)
    except DuplicateKeyError:  # another process created it at the same moment: it exists now
        db[STATE].update_one({"_id": state_id}, update)


def stored_schema_version(db: Database) -> int | None:
    """The schema version recorded in the database, None for a database never initialised."""
    document = db[STATE].find_one({"_id": SCHEMA_ID})
    return None if document is None else int(document["version"])


def read_visibility(db: Database) -> Visibility:
    """What readers may see now (an uninitialised database: only `live` records, i.e. none)."""
    state = db[STATE].find_one({"_id": METADATA_ID}, {"committed": 1, "removed": 1}) or {}
    return Visibility(
        committed=tuple(entry["load"] for entry in state.get("committed", ())),
        removed=frozenset(entry["dataset"] for entry in state.get("removed", ())),
    )


def acquire_lock(db: Database, owner: str, options: WriteOptions) -> None:
    """Take the write lock, waiting up to `lock_wait`; an expired lock is taken over as abandoned."""
    deadline = time.monotonic() + options.lock_wait
    while True:
        state = db[STATE].find_one({"_id": METADATA_ID}) or {}
        lock = state.get("lock")
        now = time.time()
        new_lock = {"$set": {"lock": {"owner": owner, "expires_at": now + options.lock_lease}}}
        if lock is None:
            taken = _take_free_lock(db, new_lock)
        elif lock["expires_at"] < now:
            held = {"_id": METADATA_ID, "lock.owner": lock["owner"], "lock.expires_at": lock["expires_at"]}
            taken = db[STATE].update_one(held, {**new_lock, "$addToSet": {"abandoned": lock["owner"]}})
        else:
            taken = None
        if taken is not None and (taken.matched_count == 1 or taken.upserted_id is not None):
            return
        if time.monotonic() >= deadline:
            raise StoreBusy("another load is writing to the MongoDB store; try again when it has finished")
        time.sleep(0.2)


def _take_free_lock(db: Database, new_lock: Mapping[str, Any]) -> Any:
    # Upsert: the state document may be missing (a database dropped under a running process).
    try:
        return db[STATE].update_one({"_id": METADATA_ID, "lock": {"$exists": False}}, new_lock, upsert=True)
    except DuplicateKeyError:  # it exists and is locked: someone was faster
        return None


def refresh_lock(db: Database, owner: str, options: WriteOptions) -> None:
    """Extend the lease of a held lock; LostLock if another writer has taken it."""
    held = {"_id": METADATA_ID, "lock.owner": owner}
    result = db[STATE].update_one(held, {"$set": {"lock.expires_at": time.time() + options.lock_lease}})
    if result.matched_count != 1:
        raise LostLock("the write lock expired and another writer took it over; nothing was written")


def release_lock(db: Database, owner: str) -> None:
    """Release the lock if this writer still holds it, i.e. did not commit (`flip` releases it).

    The owner's load id goes to `abandoned`, so whatever it may have written is deleted by the next
    writer even if this one cannot clean up after itself (the store just became unreachable).
    """
    held = {"_id": METADATA_ID, "lock.owner": owner}
    db[STATE].update_one(held, {"$unset": {"lock": ""}, "$addToSet": {"abandoned": owner}})


def flip(db: Database, owner: str, change: Mapping[str, Any]) -> None:
    """Apply `change` ($push to committed/removed) and release the lock in ONE atomic update."""
    result = db[STATE].update_one({"_id": METADATA_ID, "lock.owner": owner}, {**change, "$unset": {"lock": ""}})
    if result.matched_count != 1:
        raise LostLock("the write lock expired and another writer took it over; nothing was committed")


def clean_up(db: Database, options: WriteOptions, owner: str | None = None) -> None:
    """Finish commits and removals older than the grace period; delete what dead writers left.

    Held under the write lock of `owner`, whose lease is renewed between batches of deletions
    (a removal may delete millions of documents).
    """
    state = db[STATE].find_one({"_id": METADATA_ID}) or {}
    settled = time.time() - options.cleanup_grace
    keep_alive = None if owner is None else (lambda: refresh_lock(db, owner, options))
    for entry in state.get("committed", ()):
        if entry["at"] <= settled:
            finish_commit(db, entry["load"], keep_alive)
    for entry in state.get("removed", ()):
        if entry["at"] <= settled:
            finish_removal(db, entry["dataset"], keep_alive)
    for load_id in state.get("abandoned", ()):
        discard_load(db, load_id, keep_alive)
        db[STATE].update_one({"_id": METADATA_ID}, {"$pull": {"abandoned": load_id}})


DELETE_BATCH = 10_000
"""Documents per `delete_many` of a clean-up: a lease is renewed between two."""
KeepAlive = Callable[[], None] | None


def delete_in_batches(db: Database, collection: str, condition: Mapping[str, Any], keep_alive: KeepAlive) -> int:
    """Delete the matching documents DELETE_BATCH `_id`s at a time, calling `keep_alive` after each batch."""
    deleted = 0
    while True:
        ids = [document["_id"] for document in db[collection].find(condition, {"_id": 1}).limit(DELETE_BATCH)]
        if not ids:
            return deleted
        deleted += db[collection].delete_many({"_id": {"$in": ids}}).deleted_count
        if keep_alive is not None:
            keep_alive()


def finish_commit(db: Database, load_id: str, keep_alive: KeepAlive = None) -> None:
    """Delete what a committed load replaced, relabel its records `live`, forget the load id."""
    for collection in (RECORDS, SUMMARIES):
        delete_in_batches(db, collection, {"superseded_by": load_id}, keep_alive)
        db[collection].update_many({"load": load_id}, {"$set": {"load": LIVE}})
    db[STATE].update_one({"_id": METADATA_ID}, {"$pull": {"committed": {"load": load_id}}})


def finish_removal(db: Database, dataset_id: str, keep_alive: KeepAlive = None) -> None:
    """Delete the records and variants of a removed dataset, then forget the removal."""
    delete_in_batches(db, RECORDS, {"dataset_id": dataset_id}, keep_alive)
    db[SUMMARIES].delete_many({"dataset_id": dataset_id})
    drop_variant_sets(db, dataset_id, keep_alive)
    db[STATE].update_one({"_id": METADATA_ID}, {"$pull": {"removed": {"dataset": dataset_id}}})


def variant_set_id(dataset_id: str) -> str:
    """The `_id` of a dataset's variant set document in `store_state`."""
    return VARIANT_SET_PREFIX + dataset_id


def drop_variant_sets(db: Database, dataset_id: str, keep_alive: KeepAlive = None) -> None:
    """Delete every version of a dataset's variants and its variant set document.

    A load still running for the dataset loses its claim (its next step fails and it deletes what it
    wrote); its version is kept in `abandoned`, so the next load deletes it should that writer die.
    """
    document = db[STATE].find_one({"_id": variant_set_id(dataset_id)})
    if document is None:
        return
    loading = document.get("loading")
    for version in variant_versions(document):
        if loading is None or version != loading["version"]:
            delete_variant_version(db, version, keep_alive)
    if loading is None:
        db[STATE].delete_one({"_id": document["_id"]})
    else:
        kept = {"_id": document["_id"], "kind": "variant_set", "dataset": dataset_id, "retired": []}
        db[STATE].replace_one({"_id": document["_id"]}, {**kept, "abandoned": [loading["version"]]})


def delete_variant_version(db: Database, version: int, keep_alive: KeepAlive = None) -> None:
    """Delete a version's variants and their carrier chunks, in batches."""
    delete_in_batches(db, VARIANTS, {"v": version}, keep_alive)
    delete_in_batches(db, CARRIERS, {"v": version}, keep_alive)


def variant_versions(document: Mapping[str, Any]) -> list[int]:
    """Every version a variant set document names: current, loading, retired and abandoned."""
    versions = [entry["version"] for key in ("current", "loading") if (entry := document.get(key))]
    versions += [entry["version"] for entry in document.get("retired", ())]
    return versions + list(document.get("abandoned", ()))


def removal_settles_at(db: Database, dataset_id: str, options: WriteOptions) -> float | None:
    """When a pending removal of the dataset may be finished (epoch seconds); None if none pends."""
    state = db[STATE].find_one({"_id": METADATA_ID}, {"removed": 1}) or {}
    for entry in state.get("removed", ()):
        if entry["dataset"] == dataset_id:
            return entry["at"] + options.cleanup_grace
    return None


def discard_load(db: Database, load_id: str, keep_alive: KeepAlive = None) -> None:
    """Delete the records of an uncommitted load and undo its `superseded_by` marks."""
    for collection in (RECORDS, SUMMARIES):
        delete_in_batches(db, collection, {"load": load_id}, keep_alive)
        db[collection].update_many({"superseded_by": load_id}, {"$unset": {"superseded_by": ""}})
