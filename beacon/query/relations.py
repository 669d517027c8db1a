"""Related records of one record: `/runs/{id}/analyses`, `/biosamples/{id}/runs`, `/analyses/{id}/g_variants`...

A record names the record it belongs to by a link field (`LINK_FIELDS`: an analysis's `runId`, a run's
`biosampleId`), so the records related to a parent are those whose link field is the parent's id, in
the parent's dataset. Variants relate to records through case-level data, which is keyed by biosample:
the variants of a record are those carried by its biosamples (a biosample itself, the biosample a run or
an analysis was made from, an individual's biosamples).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beacon.query.entry_types import LINK_FIELDS, EntryType
from beacon.store.base import LinkCondition, RecordQuery, Store

_ALL = 1_000_000_000
"""`limit` of the internal lookups: every linked record is needed."""


def link_to(parent: EntryType, record_id: str) -> LinkCondition:
    """The condition selecting the records that belong to one record of `parent` (KeyError: none can)."""
    return LinkCondition(LINK_FIELDS[parent.path], frozenset({record_id}))


def record_biosamples(store: Store, parent: EntryType, record: Mapping[str, Any]) -> frozenset[str]:
    """Ids of the biosamples whose case-level data stands for a record's variants (empty: none)."""
    if parent.path == "biosamples":
        return frozenset({str(record["id"])})
    if parent.path == "individuals":
        query = RecordQuery(
            "biosamples", str(record["datasetId"]), conditions=(link_to(parent, str(record["id"])),), limit=_ALL
        )
        return frozenset(str(found["id"]) for found in store.find_records(query))
    biosample = record.get(LINK_FIELDS["biosamples"])
    return frozenset({biosample}) if isinstance(biosample, str) and biosample else frozenset()
