"""Case-level data on MongoDB: a variant's carriers in bounded chunks of their own collection, never in the variant.

A variant document holds only how many carriers it has (`carrier_count`, when any). Its carriers are
in `g_variant_carriers`, in load order, cut into **chunks**:

    {v, assembly, chromosome, bucket, start, variant_id, n, f, b: [biosample id, ...], z: [zygosity, ...]}

`n` numbers a variant's chunks from 0, `f` is the place of the chunk's first carrier among the
variant's, `b` and `z` are parallel (a zygosity may be null); the position fields are the variant's
(and its shard key fields, docs/scaling.md).

**Why no document can outgrow 16 MB, whatever the carrier count.** A chunk closes at CHUNK_CARRIERS
(10,000) carriers or before the UTF-8 text of its biosample ids and zygosities would pass CHUNK_TEXT
(1 MiB); one carrier's text is at most MAX_CARRIER_TEXT (64 KiB, a load with a longer biosample id
is refused), so a chunk's text never passes 1 MiB. In BSON each carrier also costs two array
elements: a type byte, the index as a key ("9999" and its NUL, at most 5 bytes), a 4-byte length and
the string's NUL (a null zygosity: 6 bytes), i.e. at most 22 bytes, 220,000 bytes for 10,000. With
the chunk's own fields (under 1 kB; the loader's variant ids are at most ~80 characters), a chunk is
below 1.3 MiB, far under 16 MiB: 400,000 carriers are 40 chunks, not one 20 MB variant. The variant
document no longer grows with its carriers at all.

**Indexes** (`state.CARRIER_INDEXES`): `by_variant {v, variant_id, n}` reads a variant's carriers in
order (record pages, `/g_variants/{id}/biosamples`); `by_carrier {v, b, chromosome, start,
variant_id}` (multikey on `b`: one key per carrier, as before) finds the variants a biosample
carries, in position order. A variant query narrowed to biosamples (`VariantQuery.biosample_ids`)
is a semi-join in two indexed steps: the variant ids the biosamples carry (`carried_variant_ids`),
then the variant query with `variant_id` among them (`by_variant_id`, or the query's own position
index), in batches of ID_BATCH ids so that no command nears 16 MB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from beacon.store.base import StoreError, VariantDocument, VariantQuery
from beacon.store.mongo import state
from beacon.store.mongo.queries import require_text, text_list
from beacon.store.mongo.variant_queries import BUCKET_SIZE

CARRIER_COUNT = "carrier_count"
"""The variant document's field saying how many carriers it has (absent: none)."""
CHUNK_CARRIERS = 10_000
CHUNK_TEXT = 1024 * 1024
MAX_CARRIER_TEXT = 64 * 1024
ID_BATCH = 10_000
"""Variant ids per query of a semi-join (about 300 kB of command)."""
_POSITION = ("chromosome", "start", "variant_id")

Carriers = tuple[tuple[str, str | None], ...]


def carrier_chunks(document: VariantDocument, version: int) -> list[dict[str, Any]]:
    """The chunk documents of a variant's carriers in one dataset version (see the module docstring)."""
    located = {"assembly": document.assembly, "chromosome": document.chromosome, "start": document.start}
    return _chunks({**located, "v": version, "variant_id": document.variant_id}, document.carriers)


def _chunks(variant: Mapping[str, Any], carriers: Carriers) -> list[dict[str, Any]]:
    """Chunks of `carriers` for a variant given by its `v, assembly, chromosome, start, variant_id`."""
    common = {name: variant[name] for name in ("v", "assembly", "chromosome", "start", "variant_id")}
    common["bucket"] = int(variant["start"]) // BUCKET_SIZE
    variant_id = variant["variant_id"]
    chunks: list[dict[str, Any]] = []
    first, text = 0, 0
    for place, (biosample, zygosity) in enumerate(carriers):
        size = len(biosample.encode()) + len((zygosity or "").encode())
        if size > MAX_CARRIER_TEXT:
            raise StoreError(
                f"variant {variant_id} has a carrier whose biosample id is {size} bytes long "
                f"(at most {MAX_CARRIER_TEXT}); nothing was loaded"
            )
        if place > first and (place - first == CHUNK_CARRIERS or text + size > CHUNK_TEXT):
            chunks.append(_chunk(common, len(chunks), first, carriers[first:place]))
            first, text = place, 0
        text += size
    if carriers:
        chunks.append(_chunk(common, len(chunks), first, carriers[first:]))
    return chunks


def _chunk(common: Mapping[str, Any], number: int, first: int, carriers: Carriers) -> dict[str, Any]:
    biosamples = [biosample for biosample, _ in carriers]
    return {**common, "n": number, "f": first, "b": biosamples, "z": [zygosity for _, zygosity in carriers]}


def read_carriers(
    db: Database, version: int, variant_ids: Sequence[str], most: int | None = None
) -> dict[str, Carriers]:
    """The carriers of these variants of a version, in load order (at most `most` each), by variant id."""
    found: dict[str, list[tuple[str, str | None]]] = {variant_id: [] for variant_id in variant_ids}
    for batch in _batches(sorted(found)):
        wanted: dict[str, Any] = {"v": version, "variant_id": {"$in": batch}}
        if most is not None:
            wanted["f"] = {"$lt": max(most, 0)}  # only the chunks holding one of the first `most`
        cursor = db[state.CARRIERS].find(wanted, {"_id": 0, "variant_id": 1, "b": 1, "z": 1})
        for chunk in cursor.sort([("variant_id", 1), ("n", 1)]).hint("by_variant"):
            found[chunk["variant_id"]] += zip(chunk["b"], chunk["z"], strict=True)
    return {variant_id: tuple(carriers[:most]) for variant_id, carriers in found.items()}


def carried_variant_ids(db: Database, version: int, query: VariantQuery) -> list[str]:
    """The ids of the variants of a version any of the query's biosamples carries, in position order."""
    cursor = db[state.CARRIERS].find(carrier_filter(version, query), {"_id": 0, **dict.fromkeys(_POSITION, 1)})
    cursor = cursor.hint("by_carrier")
    positions = {(chunk["chromosome"], chunk["start"], chunk["variant_id"]) for chunk in cursor}
    return [variant_id for _, _, variant_id in sorted(positions)]


def carrier_filter(version: int, query: VariantQuery) -> dict[str, Any]:
    """The chunks holding any of the query's biosamples (on its chromosome, when it names one)."""
    wanted: dict[str, Any] = {"v": {"$eq": int(version)}}
    wanted["b"] = {"$in": text_list(query.biosample_ids or (), "biosample_ids")}
    if query.chromosome is not None:
        wanted["chromosome"] = {"$eq": require_text(query.chromosome, "chromosome")}
    return wanted


def biosamples_carrying(db: Database, version: int, variant_ids: Iterable[str]) -> list[str]:
    """The biosample ids carrying any of these variants of a version, ordered (distinct on the server)."""
    found: set[str] = set()
    for batch in _batches(sorted(set(variant_ids))):
        wanted = {"v": version, "variant_id": {"$in": batch}}
        found.update(str(biosample) for biosample in db[state.CARRIERS].distinct("b", wanted))
    return sorted(found)


def id_batches(variant_ids: Sequence[str] | None) -> list[Sequence[str] | None]:
    """The semi-join's batches of variant ids in order ([None]: the query names no biosamples)."""
    return [None] if variant_ids is None else (_batches(variant_ids) or [[]])


def _batches(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[first : first + ID_BATCH] for first in range(0, len(items), ID_BATCH)]


COPY_BATCH = 100
"""Chunks per `insert_many` of a copy (pymongo splits further at 48 MB)."""


def copy_chunks(
    db: Database, previous: int, version: int, replaced: Iterable[str], keep_alive: state.KeepAlive
) -> None:
    """Copy version `previous`'s chunks not on the `replaced` chromosomes into `version` (incremental loads)."""
    wanted = {"v": previous, "chromosome": {"$nin": sorted(replaced)}}
    batch: list[dict[str, Any]] = []
    for chunk in db[state.CARRIERS].find(wanted, {"_id": 0}):
        batch.append({**chunk, "v": version})
        if len(batch) == COPY_BATCH:
            db[state.CARRIERS].insert_many(batch, ordered=False)
            batch = []
            if keep_alive is not None:
                keep_alive()
    if batch:
        db[state.CARRIERS].insert_many(batch, ordered=False)


def move_embedded_carriers(db: Database) -> int:
    """Schema 4: move the `carriers` arrays of older variant documents into chunks; how many variants moved.

    Each chunk is written by its own `_id` (`"<variant document _id>/<n>"`, upserted), and the array is
    removed last: an interrupted `beacon init` is finished by the next one, and two at once write the
    same chunks, never twice.
    """
    moved = 0
    embedded = {"carriers": {"$type": "array"}}
    fields = {"_id": 1, "v": 1, "assembly": 1, "chromosome": 1, "start": 1, "variant_id": 1, "carriers": 1}
    for stored in db[state.VARIANTS].find(embedded, fields):
        carriers = tuple((carrier["b"], carrier.get("z")) for carrier in stored["carriers"])
        for chunk in _chunks(stored, carriers):
            chunk_id = f"{stored['_id']}/{chunk['n']}"
            with suppress(DuplicateKeyError):  # another `beacon init` upserted the same chunk at the same moment
                db[state.CARRIERS].replace_one({"_id": chunk_id}, {"_id": chunk_id, **chunk}, upsert=True)
        update: dict[str, Any] = {"$unset": {"carriers": ""}}
        if carriers:
            update["$set"] = {CARRIER_COUNT: len(carriers)}
        db[state.VARIANTS].update_one({"_id": stored["_id"]}, update)
        moved += 1
    return moved
