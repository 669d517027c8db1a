"""Structural variants in MongoDB: the fields a stored variant adds for them, and the mate filter.

Stored only when set: `cipos`/`ciend` ([low, high] offsets), `mate_chromosome`/`mate_start` (a
breakend's mate) and `copy_number`. The `mate` query compares them as data only, like every filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beacon.store.base import VariantDocument, VariantQuery
from beacon.store.mongo.queries import eq, require_text

_FIELDS = ("cipos", "ciend", "mate_chromosome", "mate_start", "copy_number")
_PAIRS = ("cipos", "ciend")


def encode_structure(document: VariantDocument) -> dict[str, Any]:
    """The structural fields of a document that are set."""
    stored = {}
    for name in _FIELDS:
        value = getattr(document, name)
        if value is not None:
            stored[name] = list(value) if name in _PAIRS else value
    return stored


def decode_structure(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The structural fields of a stored variant, as `VariantDocument` keeps them."""
    decoded: dict[str, Any] = {}
    for name in _FIELDS:
        value = stored.get(name)
        if value is not None:
            decoded[name] = tuple(int(item) for item in value) if name in _PAIRS else value
    if "mate_start" in decoded:
        decoded["mate_start"] = int(decoded["mate_start"])
    if "copy_number" in decoded:
        decoded["copy_number"] = int(decoded["copy_number"])
    return decoded


def mate_filter(query: VariantQuery) -> list[dict[str, Any]]:
    """Breakends starting in the query's bracket whose mate lies on `mate_chromosome` in the mate bracket."""
    numbers = [query.start, query.start_max, query.mate_start, query.mate_start_max]
    if not all(isinstance(number, int) and not isinstance(number, bool) for number in numbers):
        raise TypeError("a mate query needs integer brackets")
    start, start_max, mate_start, mate_start_max = numbers
    return [
        {
            "start": {"$gte": start, "$lt": start_max},
            "mate_chromosome": eq(require_text(query.mate_chromosome, "mate_chromosome")),
            "mate_start": {"$gte": mate_start, "$lt": mate_start_max},
        }
    ]
