"""Build Beacon v2 response documents from per-dataset results (pure, no Flask, no database).

One response speaks at one `returnedGranularity`: the requested one, capped by the most any dataset
grants this caller. Datasets granted less still answer at their own level: a count-level dataset in a
record response has a result set with its count and no records (`info.returnedGranularity: count`); a
boolean-level dataset only contributes to `responseSummary.exists`, never to a count.

Small-count protection (`CountProtection`, set per dataset in the access policy) changes the counts of
callers who may not see a dataset's records; such counts carry Beacon v2.2's `countAdjustedTo` and
`countPrecision` (`imprecise` or `rounded`), in their result set and in `responseSummary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from beacon.errors import API_VERSION
from beacon.query.entry_types import EntryType
from beacon.query.granularity import Granularity, narrowest
from beacon.query.requests import BeaconRequest


@dataclass(frozen=True)
class DatasetResult:
    """One dataset's answer at the granularity this caller was granted for it."""

    dataset_id: str
    granularity: Granularity
    count: int
    records: tuple[Mapping[str, Any], ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)
    count_adjusted_to: tuple[int | str, ...] = ()
    """How small-count protection changed `count` (empty: the count is exact)."""
    count_precision: str | None = None
    """`imprecise` or `rounded` when `count` was adjusted, else None (exact)."""

    @property
    def exists(self) -> bool:
        """Whether the dataset has at least one match (adjusted counts stay above 0 exactly when it has)."""
        return self.count > 0


@dataclass(frozen=True)
class CountProtection:
    """Small-count protection of one dataset's counts, for callers who may not see its records."""

    min_count: int | None = None
    """Counts from 1 to min_count - 1 are reported as min_count (`countPrecision: imprecise`)."""
    count_precision: int | None = None
    """Counts are rounded up to a multiple of this (`countPrecision: rounded`)."""

    def apply(self, result: DatasetResult) -> DatasetResult:
        """`result` with its count as a count-level caller may see it; a count of 0 stays exact."""
        if result.count == 0:
            return result
        count, precision = result.count, None
        adjusted_to: list[int | str] = []
        if self.min_count is not None and count < self.min_count:
            count, precision = self.min_count, "imprecise"
            adjusted_to.append(self.min_count)
        if self.count_precision is not None:
            # Rounding up, never down: a dataset with matches must never report 0.
            count = -(-count // self.count_precision) * self.count_precision
            precision = precision or "rounded"
            adjusted_to.append(f"next multiple of {self.count_precision}")
        if precision is None:
            return result
        return replace(result, count=count, count_adjusted_to=tuple(adjusted_to), count_precision=precision)


EXACT_COUNTS = CountProtection()
"""No small-count protection."""


def response_meta(
    beacon_id: str, request: BeaconRequest, granularity: Granularity, schemas: Sequence[Mapping[str, str]]
) -> dict[str, Any]:
    """The `meta` section of an entry-type response."""
    return {
        "beaconId": beacon_id,
        "apiVersion": API_VERSION,
        "returnedGranularity": granularity.value,
        "receivedRequestSummary": request.summary(),
        "returnedSchemas": [dict(schema) for schema in schemas],
        "testMode": request.test_mode,
    }


def returned_granularity(
    request: BeaconRequest, entry_type: EntryType, results: Sequence[DatasetResult]
) -> Granularity:
    """The granularity a resultsets response speaks at (see the module docstring)."""
    ceiling = max((result.granularity for result in results), key=lambda g: g.rank, default=None)
    levels = [request.requested_granularity, entry_type.max_granularity]
    return narrowest(*levels, *([ceiling] if ceiling is not None else []))


def build_resultsets_response(
    beacon_id: str,
    request: BeaconRequest,
    entry_type: EntryType,
    results: Sequence[DatasetResult],
    info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A boolean, count or resultsets response for an entry-type query over several datasets."""
    granularity = returned_granularity(request, entry_type, results)
    document: dict[str, Any] = {
        "meta": response_meta(beacon_id, request, granularity, [entry_type.returned_schema]),
        "responseSummary": {"exists": any(result.exists for result in results)},
    }
    countable = [result for result in results if result.granularity >= Granularity.COUNT]
    if granularity >= Granularity.COUNT:
        document["responseSummary"]["numTotalResults"] = sum(result.count for result in countable)
        document["responseSummary"].update(_summary_adjustment(countable))
    if granularity == Granularity.RECORD:
        document["response"] = {"resultSets": _result_sets(beacon_id, request, countable)}
    if info:
        document["info"] = dict(info)
    return document


def _summary_adjustment(results: Sequence[DatasetResult]) -> dict[str, Any]:
    """`countAdjustedTo`/`countPrecision` of a total that adds up adjusted counts (empty if all are exact)."""
    adjusted = [result for result in results if result.count_precision is not None]
    if not adjusted:
        return {}
    adjusted_to = list(dict.fromkeys(item for result in adjusted for item in result.count_adjusted_to))
    # A sum of rounded counts (and zeros) is still rounded; any other exact or imprecise part is not.
    all_rounded = all(r.count_precision == "rounded" or (r.count_precision is None and not r.count) for r in results)
    return {"countAdjustedTo": adjusted_to, "countPrecision": "rounded" if all_rounded else "imprecise"}


def _result_sets(beacon_id: str, request: BeaconRequest, results: Sequence[DatasetResult]) -> list[dict[str, Any]]:
    wanted = {
        "ALL": lambda result: True,
        "HIT": lambda result: result.exists,
        "MISS": lambda result: not result.exists,
        "NONE": lambda result: False,
    }[request.include_resultset_responses]
    return [_result_set(beacon_id, result) for result in results if wanted(result)]


def _result_set(beacon_id: str, result: DatasetResult) -> dict[str, Any]:
    # beaconId: networks (the ELIXIR beacon-network-backend) and the GDI portal read it per result set.
    result_set: dict[str, Any] = {
        "beaconId": beacon_id,
        "id": result.dataset_id,
        "setType": "dataset",
        "exists": result.exists,
        "resultsCount": result.count,
        "results": [dict(record) for record in result.records] if result.granularity == Granularity.RECORD else [],
    }
    if result.count_precision is not None:
        result_set["countAdjustedTo"] = list(result.count_adjusted_to)
        result_set["countPrecision"] = result.count_precision
    info = dict(result.info)
    if result.granularity != Granularity.RECORD:
        info["returnedGranularity"] = result.granularity.value
    if info:
        result_set["info"] = info
    return result_set


def build_collections_response(
    beacon_id: str,
    request: BeaconRequest,
    entry_type: EntryType,
    granularity: Granularity,
    total: int,
    records: Sequence[Mapping[str, Any]],
    info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A boolean, count or collections response for datasets or cohorts."""
    document: dict[str, Any] = {
        "meta": response_meta(beacon_id, request, granularity, [entry_type.returned_schema]),
        "responseSummary": {"exists": total > 0},
    }
    if granularity >= Granularity.COUNT:
        document["responseSummary"]["numTotalResults"] = total
    if granularity == Granularity.RECORD:
        document["response"] = {"collections": [dict(record) for record in records]}
    if info:
        document["info"] = dict(info)
    return document
