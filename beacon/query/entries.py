"""Answer entry-type queries: one pass over the datasets the caller may see (no Flask here).

For each dataset the granted granularity is min(requested, the policy's ceiling for this caller,
the entry type's ceiling); boolean and count answers never materialise records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from beacon.errors import Forbidden, NotFound
from beacon.query.entry_types import EntryType
from beacon.query.granularity import Granularity, narrowest
from beacon.query.requests import BeaconRequest
from beacon.query.responses import EXACT_COUNTS, CountProtection, DatasetResult
from beacon.store.base import Condition, RecordQuery, Store


class Policy(Protocol):
    """The part of the access policy queries need (see beacon.auth.policy)."""

    def ceiling(self, principal: Any, dataset_id: str) -> Granularity | None:
        """The most this caller may see of a dataset; None when it may not see it at all."""

    def count_protection(self, dataset_id: str) -> CountProtection:
        """How the dataset's counts are shown to callers who may not see its records."""


class VisibleDataset(NamedTuple):
    """A dataset this caller may see, the most it may see of it, and its small-count protection."""

    dataset_id: str
    ceiling: Granularity
    counts: CountProtection = EXACT_COUNTS


@dataclass(frozen=True)
class Scope:
    """What the URL narrows a query to: some datasets, one record, or a set of record ids."""

    dataset_ids: tuple[str, ...] | None = None
    record_id: str | None = None
    record_ids: frozenset[str] | None = None
    explicit: bool = False  # the caller named these datasets: refusing is a 403, not an omission


@dataclass(frozen=True)
class Caller:
    """Who is asking and under which policy."""

    principal: Any
    policy: Policy
    warnings: tuple[str, ...] = ()
    """What the response `info` tells the caller about its credentials (e.g. an ignored token)."""


def visible_datasets(store: Store, caller: Caller, scope: Scope) -> list[VisibleDataset]:
    """Each dataset in scope this caller may see, with its ceiling, ordered by id."""
    known = [dataset["id"] for dataset in store.list_datasets()]
    wanted = known if scope.dataset_ids is None else [d for d in scope.dataset_ids if d in known]
    if scope.dataset_ids is not None and scope.explicit and not wanted:
        raise NotFound(f"no dataset {', '.join(scope.dataset_ids)}")
    visible = []
    for dataset_id in wanted:
        ceiling = caller.policy.ceiling(caller.principal, dataset_id)
        if ceiling is not None:
            visible.append(VisibleDataset(dataset_id, ceiling, caller.policy.count_protection(dataset_id)))
        elif scope.explicit:
            raise Forbidden(f"access to dataset {dataset_id} is not granted to this caller")
    return visible


def answer_per_dataset(
    datasets: Sequence[VisibleDataset],
    request: BeaconRequest,
    entry_type: EntryType,
    count: Callable[[str], int],
    find: Callable[[str], Sequence[Mapping[str, Any]]],
) -> list[DatasetResult]:
    """Count (and for record level, fetch) matches in each dataset at its granted granularity.

    Counts are exact for callers who may see the dataset's records, else small-count protected.
    """
    results = []
    for dataset_id, ceiling, counts in datasets:
        granted = narrowest(request.requested_granularity, ceiling, entry_type.max_granularity)
        total = count(dataset_id)
        records = tuple(find(dataset_id)) if granted == Granularity.RECORD and total > request.offset else ()
        result = DatasetResult(dataset_id, granted, total, records)
        protected = granted == Granularity.COUNT and ceiling < Granularity.RECORD
        results.append(counts.apply(result) if protected else result)
    return results


def query_records(
    store: Store,
    caller: Caller,
    entry_type: EntryType,
    request: BeaconRequest,
    scope: Scope,
    conditions: tuple[Condition, ...] = (),
    *,
    require_match: bool = True,
) -> list[DatasetResult]:
    """Per-dataset results for a metadata entry type (individuals, biosamples, ...).

    With `scope.record_id`, no match is a 404 unless `require_match` is false (a filtered lookup of a
    record known to exist).
    """

    def record_query(dataset_id: str) -> RecordQuery:
        return RecordQuery(
            entity=entry_type.path,
            dataset_id=dataset_id,
            record_id=scope.record_id,
            conditions=conditions,
            record_ids=scope.record_ids,
            skip=request.offset,
            limit=request.limit,
        )

    datasets = visible_datasets(store, caller, scope)
    results = answer_per_dataset(
        datasets,
        request,
        entry_type,
        count=lambda dataset_id: store.count_records(record_query(dataset_id)),
        find=lambda dataset_id: store.find_records(record_query(dataset_id)),
    )
    if require_match and scope.record_id is not None and not any(result.exists for result in results):
        raise NotFound(f"no {entry_type.name.lower()} with id {scope.record_id!r}")
    return results


def find_record(store: Store, caller: Caller, entry_type: EntryType, record_id: str) -> dict[str, Any]:
    """One record by id from the datasets the caller may see, or 404 (a dataset it may not see: 403)."""
    for dataset_id, *_ in visible_datasets(store, caller, Scope()):
        query = RecordQuery(entity=entry_type.path, dataset_id=dataset_id, record_id=record_id, limit=1)
        found = store.find_records(query)
        if found:
            return found[0]
    if entry_type.path == "datasets" and any(d["id"] == record_id for d in store.list_datasets()):
        raise Forbidden(f"access to dataset {record_id} is not granted to this caller")
    raise NotFound(f"no {entry_type.name.lower()} with id {record_id!r}")


def list_collection(
    store: Store, caller: Caller, entry_type: EntryType, request: BeaconRequest
) -> tuple[int, list[dict[str, Any]]]:
    """All datasets or cohorts the caller may see: (total, one page of records)."""
    records: list[dict[str, Any]] = []
    for dataset_id, *_ in visible_datasets(store, caller, Scope()):
        query = RecordQuery(entity=entry_type.path, dataset_id=dataset_id, limit=1_000_000)
        records.extend(store.find_records(query))
    records.sort(key=lambda record: record["id"])
    return len(records), records[request.offset : request.offset + request.limit]
