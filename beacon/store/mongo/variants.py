"""Variants on MongoDB: one `g_variants` collection, a version per dataset load, switched by one update.

A stored variant (one ALT allele of one dataset version; lists only when not empty, so the partial
indexes of `mongo_state.VARIANT_INDEXES` skip variants without them):

    {v, assembly, chromosome, bucket, start, end, span, variant_id, reference_bases, alternate_bases,
     norm_start, norm_ref, norm_alt, variant_type, length, frequencies?, rs_ids?, gene_ids?,
     aminoacid_changes?, protein_hgvs_ids?, carrier_count?}

Its carriers (case-level data) are not in it: they are chunks of `g_variant_carriers`, so that no
document grows with them (`mongo_carriers`).

`bucket` is `start // BUCKET_SIZE`, part of the shard key (docs/scaling.md). A dataset's **variant
set document** (in `store_state`, `_id: "variants/<dataset id>"`) points at its current version:

    {kind: "variant_set", dataset, current?: VariantSet, loading?: {version, host, pid, expires_at},
     retired: [{version, at}], abandoned: [version]}

**A load** (`MongoVariantLoad`), with the same semantics as the SQLite store's:
1. claims the dataset with one conditional update setting `loading` (refused while a live load holds
   it; a load whose lease expired, or that this very process left open, is taken over as abandoned);
2. inserts its documents (and their carrier chunks) under a new version number with unordered,
   batched `insert_many`. They are invisible: readers query only the `current` version. The lease is
   renewed after every batch;
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
from collections.abc import Mapping
from typing import Any

from bson.int64 import Int64
from pymongo.database import Database

from beacon.store.base import PopulationFrequency, VariantDocument
from beacon.store.mongo import state
from beacon.store.mongo.carriers import CARRIER_COUNT
from beacon.store.mongo.lookups import KEY_FIELDS, lookup_keys
from beacon.store.mongo.queries import require_text
from beacon.store.mongo.structural import decode_structure, encode_structure
from beacon.store.mongo.variant_queries import BUCKET_SIZE, VariantSet

log = logging.getLogger(__name__)

ORDER = [("chromosome", 1), ("start", 1), ("variant_id", 1)]
"""The order of `find_variants`, given by the `by_position` index."""
_LISTS = ("rs_ids", "gene_ids", "aminoacid_changes", "protein_hgvs_ids")
STORED_FIELDS = {"_id": 0, "v": 0, "bucket": 0, "span": 0, **dict.fromkeys(KEY_FIELDS, 0)}
"""The projection `find_variants` reads (the store's own fields left out)."""


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
        stored[CARRIER_COUNT] = len(document.carriers)
    stored.update(lookup_keys(document))
    stored.update(encode_structure(document))
    return stored


def decode_variant(stored: Mapping[str, Any]) -> VariantDocument:
    """The VariantDocument an `encode_variant` result was made from, without its carriers (`mongo_carriers`)."""
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
