"""Variants on MongoDB: one `g_variants` collection, a version per dataset load, switched by one update.

A stored variant (one ALT allele of one dataset version; lists only when not empty, so the partial
indexes of `mongo_state.VARIANT_INDEXES` skip variants without them):

    {v, assembly, chromosome, bucket, start, end, span, variant_id, reference_bases, alternate_bases,
     norm_start, norm_ref, norm_alt, variant_type, length, frequencies?, rs_ids?, gene_ids?,
     aminoacid_changes?, protein_hgvs_ids?, carriers?: [{b: biosample id, z: zygosity}]}

`bucket` is `start // BUCKET_SIZE`, part of the shard key (docs/scaling.md). A dataset's **variant
set document** (in `store_state`, `_id: "variants/<dataset id>"`) points at its current version:

    {kind: "variant_set", dataset, current?: VariantSet, loading?: {version, host, pid, expires_at},
     retired: [{version, at}], abandoned: [version]}

**A load** (`MongoVariantLoad`), with the same semantics as the SQLite store's:
1. claims the dataset with one conditional update setting `loading` (refused while a live load holds
   it; a load whose lease expired, or that this very process left open, is taken over as abandoned);
2. inserts its documents under a new version number with unordered, batched `insert_many`. They are
   invisible: readers query only the `current` version. The lease is renewed after every batch;
3. commits with ONE update that sets `current` to the new version (with the load's frequency
   source, if it named one), moves the previous one to `retired` and drops `loading`, only if it
   still holds the claim;
4. waits `cleanup_grace` seconds (longer than a reader holding the old pointer may take, see
   `mongo_budget`), then deletes the retired version.
`abort` deletes the new version's documents and releases the claim. What a dead writer leaves
(`abandoned` versions, retired versions it did not get to delete) is deleted by the next load.

**Readers** read the state document (removed datasets) and the variant set document in one query,
then query the current version with the filters of `mongo_variant_queries`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

from bson.int64 import Int64
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from beacon.store.base import (
    FrequencySource,
    LoadMode,
    PopulationFrequency,
    StoreError,
    UnknownDatasetError,
    VariantDocument,
    VariantQuery,
)
from beacon.store.mongo import incremental, state
from beacon.store.mongo.lookups import KEY_FIELDS, lookup_keys
from beacon.store.mongo.queries import eq, require_text
from beacon.store.mongo.structural import decode_structure, encode_structure
from beacon.store.mongo.variant_queries import BUCKET_SIZE, LONG_SPAN, VariantSet, find_filter
from beacon.store.processes import process_alive

log = logging.getLogger(__name__)

INSERT_BATCH = 5000
"""Variants per `insert_many` call (pymongo splits further at 48 MB)."""
ORDER = [("chromosome", 1), ("start", 1), ("variant_id", 1)]
"""The order of `find_variants`, given by the `by_position` index."""
_LISTS = ("rs_ids", "gene_ids", "aminoacid_changes", "protein_hgvs_ids")
STORED_FIELDS = {"_id": 0, "v": 0, "bucket": 0, "span": 0, **dict.fromkeys(KEY_FIELDS, 0)}
"""The projection `find_variants` reads (the store's own fields left out)."""


class VariantLoadError(StoreError):
    """A variant load cannot start or finish (e.g. the dataset already has variants)."""


# -- documents ---------------------------------------------------------------------------------------
def encode_variant(document: VariantDocument, version: int) -> dict[str, Any]:
    """The stored form of a variant in one dataset version."""
    stored: dict[str, Any] = {
        "v": version,
        "assembly": document.assembly,
        "chromosome": document.chromosome,
        "bucket": document.start // BUCKET_SIZE,
        "start": document.start,
        "end": document.end,
        "span": document.end - document.start,
        "variant_id": document.variant_id,
        "reference_bases": document.reference_bases,
        "alternate_bases": document.alternate_bases,
        "norm_start": document.norm_start,
        "norm_ref": document.norm_ref,
        "norm_alt": document.norm_alt,
        "variant_type": document.variant_type,
        "length": document.length,
    }
    if document.frequencies:
        stored["frequencies"] = [list(frequency) for frequency in document.frequencies]
    for name in _LISTS:
        if values := getattr(document, name):
            stored[name] = list(values)
    if document.carriers:
        stored["carriers"] = [{"b": biosample, "z": zygosity} for biosample, zygosity in document.carriers]
    stored.update(lookup_keys(document))
    stored.update(encode_structure(document))
    return stored


def decode_variant(stored: Mapping[str, Any]) -> VariantDocument:
    """The VariantDocument an `encode_variant` result was made from."""
    return VariantDocument(
        variant_id=stored["variant_id"],
        assembly=stored["assembly"],
        chromosome=stored["chromosome"],
        start=int(stored["start"]),
        end=int(stored["end"]),
        reference_bases=stored["reference_bases"],
        alternate_bases=stored["alternate_bases"],
        norm_start=int(stored["norm_start"]),
        norm_ref=stored["norm_ref"],
        norm_alt=stored["norm_alt"],
        variant_type=stored["variant_type"],
        length=int(stored["length"]),
        frequencies=tuple(PopulationFrequency(*map(_plain, item)) for item in stored.get("frequencies", ())),
        carriers=tuple((carrier["b"], carrier.get("z")) for carrier in stored.get("carriers", ())),
        **{name: tuple(stored.get(name, ())) for name in _LISTS},
        **decode_structure(stored),
    )


def _plain(value: Any) -> Any:
    return int(value) if type(value) is Int64 else value  # BSON int64 decodes to an int subclass


# -- reading -----------------------------------------------------------------------------------------
def read_variant_sets(db: Database, dataset_id: str | None = None) -> dict[str, VariantSet]:
    """The current variant sets (of one dataset, or all) of datasets not being removed; one query."""
    if dataset_id is None:
        wanted: dict[str, Any] = {"$or": [{"_id": state.METADATA_ID}, {"kind": "variant_set"}]}
    else:
        set_id = state.variant_set_id(require_text(dataset_id, "dataset_id"))
        wanted = {"_id": {"$in": [state.METADATA_ID, set_id]}}
    documents = list(db[state.STATE].find(wanted, {"removed": 1, "dataset": 1, "current": 1}))
    removed = {entry["dataset"] for document in documents for entry in document.get("removed", ())}
    return {
        document["dataset"]: VariantSet.from_document(document["current"])
        for document in documents
        if document["_id"] != state.METADATA_ID and document.get("current") and document["dataset"] not in removed
    }


def carriers_of(db: Database, variant_set: VariantSet, query: VariantQuery) -> list[str]:
    """Biosample ids carrying any variant a query matches in a version, ordered (distinct on the server)."""
    found = db[state.VARIANTS].distinct("carriers.b", find_filter(query, variant_set))
    return sorted(str(biosample) for biosample in found)


# -- loading -----------------------------------------------------------------------------------------
class MongoVariantLoad:
    """A variant load into a new, invisible version of one dataset (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        dataset_id: str,
        *,
        replace: bool,
        options: state.WriteOptions,
        frequency_source: FrequencySource | None = None,
        mode: LoadMode = "new",
    ) -> None:
        self._db = db
        self.dataset_id = require_text(dataset_id, "dataset_id")
        self._set_id = state.variant_set_id(self.dataset_id)
        self._options = options
        self._frequency_source = frequency_source
        self._stats = _LoadStats()
        self._finished = False
        self._mode: LoadMode = "replace" if replace else mode
        self._chromosomes: set[str] = set()
        self._present = incremental.PresentVariants()
        _require_dataset(db, self.dataset_id)
        clean_up_variant_sets(db, options)
        self.version = _claim(db, self.dataset_id, self._mode, options, frequency_source)

    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Insert one batch (unordered, in chunks of INSERT_BATCH); returns how many it held."""
        batch = list(documents)
        self._stats.add(batch)
        self._chromosomes.update(document.chromosome for document in batch)
        if self._mode == "add" and (previous := self._previous_version()) is not None:
            self._present.check(self._db, previous, batch)
        collection = self._db[state.VARIANTS]
        for first in range(0, len(batch), INSERT_BATCH):
            chunk = batch[first : first + INSERT_BATCH]
            collection.insert_many([encode_variant(document, self.version) for document in chunk], ordered=False)
        self._renew_lease()
        return len(batch)

    def part(self, _index: int) -> None:
        """None: variants go through `add` in the loading process, which keeps the lease and the stats."""
        return None

    def add_part(self, _part: object) -> int:
        """Not supported (`part` gives None)."""
        raise VariantLoadError("the MongoDB store takes variants through add(), not parts")

    def _renew_lease(self) -> None:
        claim = {"_id": self._set_id, "loading.version": self.version}
        renewed = {"$set": {"loading.expires_at": time.time() + self._options.lock_lease}}
        if self._db[state.STATE].update_one(claim, renewed).matched_count != 1:
            self._lost()

    def _lost(self) -> None:
        self._finished = True
        self._db[state.VARIANTS].delete_many({"v": self.version})
        raise state.LostLock(
            f"the variant load of dataset {self.dataset_id!r} lost its claim (its lease expired and another "
            "load took over, or the dataset was removed); nothing was committed"
        )

    def _previous_version(self) -> int | None:
        document = self._db[state.STATE].find_one({"_id": self._set_id}, {"current.version": 1}) or {}
        return (document.get("current") or {}).get("version")

    def duplicates(self, chromosomes: Iterable[str]) -> None:
        """DuplicateVariantsError when the load holds one variant id twice on these chromosomes."""
        incremental.find_duplicates(self._db, self.version, chromosomes)

    def commit(self) -> None:
        """Make this version current in one update, then delete the previous one after the grace period.

        An `add`/`replace-contigs` load first copies the current variants it keeps (`mongo_incremental`).
        """
        document = self._db[state.STATE].find_one({"_id": self._set_id}) or {}
        if (document.get("loading") or {}).get("version") != self.version:
            self._lost()
        previous = document.get("current")
        if previous and self._mode in ("add", "replace-contigs"):
            self._present.refuse(self.dataset_id)
            replaced = self._chromosomes if self._mode == "replace-contigs" else ()
            incremental.carry_over(
                self._db, previous["version"], self.version, replaced,
                lambda stored: encode_variant(decode_variant(stored), self.version),
                lambda batch: self._stats.add([decode_variant(stored) for stored in batch]),
            )  # fmt: skip
        condition: dict[str, Any] = {"_id": self._set_id, "loading.version": self.version}
        condition["current.version" if previous else "current"] = (
            previous["version"] if previous else {"$exists": False}
        )
        current = self._stats.variant_set(self.version, self._frequency_source)
        update: dict[str, Any] = {"$set": {"current": current.to_document()}}
        update["$unset"] = {"loading": ""}
        if previous:
            update["$push"] = {"retired": {"version": previous["version"], "at": time.time()}}
        if self._db[state.STATE].update_one(condition, update).matched_count != 1:
            self._lost()
        self._finished = True
        if previous:
            self._delete_retired(previous["version"])

    def _delete_retired(self, version: int) -> None:
        time.sleep(self._options.cleanup_grace)  # readers holding the old pointer finish meanwhile
        try:
            _delete_version(self._db, self._set_id, "retired", version)
        except PyMongoError as error:  # committed already; the next load deletes it
            log.warning("the previous variants of dataset %s are deleted by the next load: %s", self.dataset_id, error)

    def abort(self) -> None:
        """Drop the new version; the previous one keeps answering (a no-op after commit)."""
        if self._finished:
            return
        self._finished = True
        self._db[state.VARIANTS].delete_many({"v": self.version})
        claim = {"_id": self._set_id, "loading.version": self.version}
        self._db[state.STATE].update_one(claim, {"$unset": {"loading": ""}})


class _LoadStats:
    """What the variant set document records about a version, gathered while its batches are written."""

    def __init__(self) -> None:
        self.assembly: str | None = None
        self.count = self.max_short_span = self.max_span = self.max_shift = 0
        self.annotations: set[str] = set()

    def add(self, batch: list[VariantDocument]) -> None:
        for document in batch:
            if self.assembly is None:
                self.assembly = document.assembly
            elif document.assembly != self.assembly:
                raise VariantLoadError(f"one load holds one assembly: got {document.assembly} after {self.assembly}")
            span = document.end - document.start
            self.max_span = max(self.max_span, span)
            if span <= LONG_SPAN:
                self.max_short_span = max(self.max_short_span, span)
            self.max_shift = max(self.max_shift, document.norm_start - document.start)
            for name, present in (
                ("geneId", document.gene_ids),
                ("aminoacidChange", document.aminoacid_changes),
                ("caseLevelData", document.carriers),
                ("variantAlternativeId", document.rs_ids),
            ):
                if present:
                    self.annotations.add(name)
        self.count += len(batch)

    def variant_set(self, version: int, frequency_source: FrequencySource | None) -> VariantSet:
        return VariantSet(
            version=version,
            assembly=self.assembly,
            count=self.count,
            max_short_span=self.max_short_span,
            max_span=self.max_span,
            max_shift=self.max_shift,
            annotations=tuple(sorted(self.annotations)),
            frequency_source=frequency_source,
        )


def _require_dataset(db: Database, dataset_id: str) -> None:
    visibility = state.read_visibility(db)
    if dataset_id in visibility.removed:
        raise UnknownDatasetError(dataset_id)
    dataset = {"entity": eq("datasets"), "id": eq(dataset_id), **visibility.datasets_clause()}
    if db[state.RECORDS].count_documents(dataset, limit=1) == 0:
        raise UnknownDatasetError(dataset_id)


def _claim(
    db: Database,
    dataset_id: str,
    mode: LoadMode,
    options: state.WriteOptions,
    frequency_source: FrequencySource | None = None,
) -> int:
    """Take the dataset's `loading` claim for a new version number; VariantLoadError if it is held."""
    set_id = state.variant_set_id(dataset_id)
    document = db[state.STATE].find_one({"_id": set_id}) or {}
    replace = mode != "new"
    if document.get("current") and not replace:
        count = document["current"]["count"]
        raise VariantLoadError(incremental.already_loaded(dataset_id, count))
    if document.get("current") and mode in ("add", "replace-contigs"):
        current = VariantSet.from_document(document["current"]).frequency_source
        if current != frequency_source:
            raise VariantLoadError(incremental.other_source(dataset_id, current, frequency_source))
    loading = document.get("loading")
    if loading is not None and not _abandoned(loading):
        raise VariantLoadError(
            f"another load of dataset {dataset_id!r} is running (process {loading['pid']} on {loading['host']}); "
            "if it died, try again when its lease expires"
        )
    version = _new_version(db)
    owner = {"version": version, "host": socket.gethostname(), "pid": os.getpid()}
    lease = {"expires_at": time.time() + options.lock_lease}
    claim: dict[str, Any] = {
        "$set": {"kind": "variant_set", "dataset": dataset_id, "loading": {**owner, **lease}},
        "$setOnInsert": {"retired": []},
    }
    condition: dict[str, Any] = {"_id": set_id}
    if not replace:
        condition["current"] = {"$exists": False}
    if loading is None:
        condition["loading"] = {"$exists": False}
    else:
        condition["loading.version"] = loading["version"]
        claim["$addToSet"] = {"abandoned": loading["version"]}
    if not _update_or_insert(db, condition, claim):
        raise VariantLoadError(f"another load of dataset {dataset_id!r} started at the same moment; try again")
    if loading is not None:
        _delete_version(db, set_id, "abandoned", loading["version"])
    return version


def _update_or_insert(db: Database, condition: Mapping[str, Any], update: Mapping[str, Any]) -> bool:
    try:
        result = db[state.STATE].update_one(condition, update, upsert=True)
    except DuplicateKeyError:  # the document exists but does not match: someone else holds it
        return False
    return result.matched_count == 1 or result.upserted_id is not None


def _abandoned(loading: Mapping[str, Any]) -> bool:
    """Whether a claim's writer is gone: lease expired, or this process (or a dead one on this host)."""
    if loading["expires_at"] < time.time():
        return True
    if loading["host"] != socket.gethostname():
        return False
    return loading["pid"] == os.getpid() or not process_alive(loading["pid"])


def _new_version(db: Database) -> int:
    counter = db[state.STATE].find_one_and_update(
        {"_id": state.METADATA_ID},
        {"$inc": {"variant_serial": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return int(counter["variant_serial"])


def _delete_version(db: Database, set_id: str, listed_in: str, version: int) -> None:
    """Delete a retired or abandoned version's variants, then strike it from the list."""
    db[state.VARIANTS].delete_many({"v": version})
    entry: Any = {"version": version} if listed_in == "retired" else version
    db[state.STATE].update_one({"_id": set_id}, {"$pull": {listed_in: entry}})


def clean_up_variant_sets(db: Database, options: state.WriteOptions) -> None:
    """Delete abandoned versions, and retired versions older than the grace period, of every dataset."""
    settled = time.time() - options.cleanup_grace
    for document in db[state.STATE].find({"kind": "variant_set"}, {"retired": 1, "abandoned": 1}):
        for entry in document.get("retired", ()):
            if entry["at"] <= settled:
                _delete_version(db, document["_id"], "retired", entry["version"])
        for version in document.get("abandoned", ()):
            _delete_version(db, document["_id"], "abandoned", version)
