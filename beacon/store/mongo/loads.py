"""Variant loads on MongoDB: a new, invisible version per load, made current by one update (see `variants`).

The claim (`loading`), the commit (ONE update of the variant set document) and the clean-up of
retired and abandoned versions. **A lost reply** (the commit applied on the server, but its reply
lost to a network blip or a write-concern error) must never cost the live variants: `commit` and
`abort` re-read the variant set document, and a version is deleted only once the claim that could
still make it current is gone (`_discard`), never when it is the current one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from beacon.store.base import FrequencySource, LoadMode, StoreError, UnknownDatasetError, VariantDocument
from beacon.store.mongo import incremental, state
from beacon.store.mongo.carriers import CARRIER_COUNT, carrier_chunks, copy_chunks
from beacon.store.mongo.queries import eq, require_text
from beacon.store.mongo.variant_queries import LONG_SPAN, VariantSet
from beacon.store.mongo.variants import decode_variant, encode_variant
from beacon.store.processes import process_alive

log = logging.getLogger(__name__)

INSERT_BATCH = 5000
"""Variants per `insert_many` call (pymongo splits further at 48 MB)."""


class VariantLoadError(StoreError):
    """A variant load cannot start or finish (e.g. the dataset already has variants)."""


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
        # While this load holds the claim no other commit can move the pointer: the version it adds to is fixed.
        self._previous = _current_version(db, self._set_id) if self._mode == "add" else None

    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Insert one batch (unordered, in chunks of INSERT_BATCH); returns how many it held."""
        batch = list(documents)
        self._stats.add(batch)
        self._chromosomes.update(document.chromosome for document in batch)
        if self._previous is not None:
            self._present.check(self._db, self._previous, batch)
        collection = self._db[state.VARIANTS]
        for first in range(0, len(batch), INSERT_BATCH):
            chunk = batch[first : first + INSERT_BATCH]
            collection.insert_many([encode_variant(document, self.version) for document in chunk], ordered=False)
        for document in batch:  # bounded chunks, so no document grows with a variant's carriers
            if chunks := carrier_chunks(document, self.version):
                self._db[state.CARRIERS].insert_many(chunks, ordered=False)
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
        self._discard()
        raise state.LostLock(
            f"the variant load of dataset {self.dataset_id!r} lost its claim (its lease expired and another "
            "load took over, or the dataset was removed); nothing was committed"
        )

    def duplicates(self, chromosomes: Iterable[str]) -> None:
        """DuplicateVariantsError when the load holds one variant id twice on these chromosomes."""
        incremental.find_duplicates(self._db, self.version, chromosomes)

    def _is_current(self) -> bool:
        """Whether the stored pointer names this load's version (read again: a reply may have been lost)."""
        return _current_version(self._db, self._set_id) == self.version

    def _discard(self) -> None:
        """Delete this load's version unless a commit made it current (its reply lost), never the live one.

        The claim is revoked first, in one conditional update that also lists the version as abandoned:
        from then on no delayed commit can make it current, and should this process die now, the next
        load deletes it. Only when the claim was already gone is the pointer read again.
        """
        claim = {"_id": self._set_id, "loading.version": self.version}
        revoke = {"$unset": {"loading": ""}, "$addToSet": {"abandoned": self.version}}
        revoked = self._db[state.STATE].update_one(claim, revoke).matched_count == 1
        if not revoked and self._is_current():
            log.warning("the variant load of dataset %s was committed (its reply was lost); kept", self.dataset_id)
            return
        _delete_version(self._db, self._set_id, "abandoned", self.version)

    def commit(self) -> None:
        """Make this version current in one update, then delete the previous one after the grace period.

        An `add`/`replace-contigs` load first copies the current variants it keeps (`mongo_incremental`).
        """
        document = self._db[state.STATE].find_one({"_id": self._set_id}) or {}
        if (document.get("loading") or {}).get("version") != self.version:
            self._lost()
        previous = document.get("current")
        if previous and self._mode in ("add", "replace-contigs"):
            self._carry_over(previous["version"])
        condition: dict[str, Any] = {"_id": self._set_id, "loading.version": self.version}
        condition["current.version" if previous else "current"] = (
            previous["version"] if previous else {"$exists": False}
        )
        current = self._stats.variant_set(self.version, self._frequency_source)
        update: dict[str, Any] = {"$set": {"current": current.to_document()}}
        update["$unset"] = {"loading": ""}
        if previous:
            update["$push"] = {"retired": {"version": previous["version"], "at": time.time()}}
        if not self._switch(condition, update):
            self._lost()
        self._finished = True
        if previous:
            self._delete_retired(previous["version"])

    def _carry_over(self, previous: int) -> None:
        self._present.refuse(self.dataset_id)
        replaced = self._chromosomes if self._mode == "replace-contigs" else ()

        def copied(batch: list[dict[str, Any]]) -> None:
            self._stats.add([decode_variant(stored) for stored in batch])
            if any(stored.get(CARRIER_COUNT) for stored in batch):  # carriers are not decoded
                self._stats.annotations.add("caseLevelData")
            self._renew_lease()  # copying 10^8 variants must not outlive the claim

        def encode(stored: dict[str, Any]) -> dict[str, Any]:
            encoded = encode_variant(decode_variant(stored), self.version)
            if stored.get(CARRIER_COUNT):  # its chunks are copied by `copy_chunks`
                encoded[CARRIER_COUNT] = stored[CARRIER_COUNT]
            return encoded

        incremental.carry_over(self._db, previous, self.version, replaced, encode, copied)
        copy_chunks(self._db, previous, self.version, replaced, self._renew_lease)

    def _delete_retired(self, version: int) -> None:
        time.sleep(self._options.cleanup_grace)  # readers holding the old pointer finish meanwhile
        try:
            _delete_version(self._db, self._set_id, "retired", version)
        except PyMongoError as error:  # committed already; the next load deletes it
            log.warning("the previous variants of dataset %s are deleted by the next load: %s", self.dataset_id, error)

    def _switch(self, condition: Mapping[str, Any], update: Mapping[str, Any]) -> bool:
        """Apply the pointer update; whether this version is current after it, even when its reply was lost."""
        try:
            if self._db[state.STATE].update_one(condition, update).matched_count == 1:
                return True
        except PyMongoError:
            if not self._is_current():  # not applied (or not yet: `abort` revokes the claim first)
                raise
            log.warning("the commit of dataset %s's variants was applied but its reply was lost", self.dataset_id)
            return True
        return self._is_current()

    def abort(self) -> None:
        """Drop the new version; the previous one keeps answering (a no-op after commit, even a lost one)."""
        if self._finished:
            return
        self._finished = True
        self._discard()


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
        raise VariantLoadError(incremental.already_loaded(dataset_id, document["current"]["count"]))
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
    if loading is not None:  # what the dead load wrote: possibly millions, so this claim's lease is renewed
        _delete_version(db, set_id, "abandoned", loading["version"], _lease_renewal(db, set_id, version, options))
    return version


def _lease_renewal(db: Database, set_id: str, version: int, options: state.WriteOptions) -> state.KeepAlive:
    def renew() -> None:
        claim = {"_id": set_id, "loading.version": version}
        db[state.STATE].update_one(claim, {"$set": {"loading.expires_at": time.time() + options.lock_lease}})

    return renew


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


def _current_version(db: Database, set_id: str) -> int | None:
    document = db[state.STATE].find_one({"_id": set_id}, {"current.version": 1}) or {}
    return (document.get("current") or {}).get("version")


def _delete_version(
    db: Database, set_id: str, listed_in: str, version: int, keep_alive: state.KeepAlive = None
) -> None:
    """Delete a retired or abandoned version's variants (never the current one), then strike it from the list.

    Deleted in batches, `keep_alive` (a lease renewal) called between two.
    """
    if _current_version(db, set_id) != version:
        state.delete_variant_version(db, version, keep_alive)
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
