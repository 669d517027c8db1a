"""Incremental variant loads on MongoDB (`LoadMode` `add` and `replace-contigs`).

A MongoDB version is one `v` number, so the new version gets, before its switch, a copy of the
current version's variants it keeps: all of them (`add`) or those of the chromosomes the load holds no
variant on (`replace-contigs`). The copy is invisible until the switch like the rest of the load, so
the load stays one atomic switch; it costs the variants kept (the SQLite store keeps chromosomes in
tables of their own instead, docs/incremental-loads.md). An `add` load counts, batch by batch, the
variants the current version already holds, and is refused at commit when there are any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pymongo.database import Database

from beacon.store.base import DuplicateVariantsError, FrequencySource, VariantDocument
from beacon.store.mongo import state

COPY_BATCH = 5000
EXAMPLES = 3


class PresentVariants:
    """The variants of an `add` load that the current version already holds: a count and a few ids."""

    def __init__(self) -> None:
        self.count = 0
        self.examples: list[str] = []

    def check(self, db: Database, previous: int, batch: list[VariantDocument]) -> None:
        """Count the batch's variants present in version `previous` (looked up by chromosome and start)."""
        by_chromosome: dict[str, set[int]] = {}
        for document in batch:
            by_chromosome.setdefault(document.chromosome, set()).add(document.start)
        present: set[str] = set()
        for chromosome, starts in by_chromosome.items():
            wanted = {"v": previous, "chromosome": chromosome, "start": {"$in": sorted(starts)}}
            present.update(found["variant_id"] for found in db[state.VARIANTS].find(wanted, {"variant_id": 1}))
        for document in batch:
            if document.variant_id in present:
                self.count += 1
                if len(self.examples) < EXAMPLES:
                    self.examples.append(document.variant_id)

    def refuse(self, dataset_id: str) -> None:
        """DuplicateVariantsError when any were found."""
        if self.count:
            raise DuplicateVariantsError(
                f"dataset {dataset_id!r} already has {self.count} of the variants of this load "
                f"(e.g. {', '.join(self.examples)}); nothing was loaded. Leave them out of the input, "
                "or use --replace-contigs to replace the chromosomes of the input",
                self.count,
                self.examples,
            )


def carry_over(
    db: Database,
    previous: int,
    version: int,
    replaced: Iterable[str],
    encode: Callable[[dict[str, Any]], dict[str, Any]],
    on_batch: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Copy version `previous`'s variants not on the `replaced` chromosomes into `version`.

    `encode` turns a stored variant into the new version's; `on_batch` sees each batch of stored
    variants first (the load's statistics).
    """
    wanted = {"v": previous, "chromosome": {"$nin": sorted(replaced)}}
    batch: list[dict[str, Any]] = []
    for stored in db[state.VARIANTS].find(wanted, {"_id": 0}):
        batch.append(stored)
        if len(batch) == COPY_BATCH:
            _copy(db, batch, version, encode, on_batch)
            batch = []
    if batch:
        _copy(db, batch, version, encode, on_batch)


def _copy(
    db: Database,
    batch: list[dict[str, Any]],
    version: int,
    encode: Callable[[dict[str, Any]], dict[str, Any]],
    on_batch: Callable[[list[dict[str, Any]]], None],
) -> None:
    on_batch(batch)
    db[state.VARIANTS].insert_many([{**encode(stored), "v": version} for stored in batch], ordered=False)


def find_duplicates(db: Database, version: int, chromosomes: Iterable[str]) -> None:
    """DuplicateVariantsError when version `version` holds a variant id twice on one of these chromosomes."""
    pipeline = [
        {"$match": {"v": version, "chromosome": {"$in": sorted(chromosomes)}}},
        {"$group": {"_id": "$variant_id", "n": {"$sum": 1}}},
        {"$match": {"n": {"$gt": 1}}},
        {"$sort": {"_id": 1}},
    ]
    repeated = [str(group["_id"]) for group in db[state.VARIANTS].aggregate(pipeline, allowDiskUse=True)]
    if repeated:
        examples = repeated[:EXAMPLES]
        raise DuplicateVariantsError(
            f"this load holds {len(repeated)} variant(s) twice (e.g. {', '.join(examples)})", len(repeated), examples
        )


def already_loaded(dataset_id: str, count: int) -> str:
    """The message refusing a load in mode `new` into a dataset with variants."""
    return (
        f"dataset {dataset_id!r} already has {count} variants; use --replace to swap them, --add to add to them "
        "or --replace-contigs to replace only the chromosomes of the input"
    )


def other_source(dataset_id: str, current: FrequencySource | None, new: FrequencySource | None) -> str:
    """The message refusing to mix frequency sources in one version."""
    named = ["no frequency source" if source is None else source.source for source in (current, new)]
    return (
        f"dataset {dataset_id!r} holds variants whose frequencies come from {named[0]} and this load's come "
        f"from {named[1]}; one dataset version keeps one frequency source: load with the same --populations "
        "map, or use --replace"
    )
