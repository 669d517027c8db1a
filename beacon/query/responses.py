"""Build Beacon v2 response documents from per-dataset results (pure, no Flask, no database).

One response speaks at one `returnedGranularity`: the requested one, capped by the most any dataset
grants this caller. Every response of an entry-type query (boolean, count or record) carries
`response.resultSets` with one result set per visible dataset (kept or dropped by
`includeResultsetResponses`), each at the granularity granted for that dataset:

- boolean: `{id, setType: "dataset", exists}`;
- count: the same plus `resultsCount` (and `countAdjustedTo`/`countPrecision` when small-count
  protection changed it);
- record: the same plus `results`.

A dataset granted less than the response's granularity says so in `info.returnedGranularity`.

`responseSummary` is built from every visible dataset's result set, whatever `includeResultsetResponses`
keeps, by one rule: `exists` is true exactly when some set's `exists` is, and at count and record
granularity `numTotalResults` is the sum of the sets' `resultsCount`, where a set without one (a
boolean-level dataset) counts as the least it can hold: 1 when it exists, else 0. So `exists` is true
exactly when `numTotalResults > 0`, which is what a network's HIT/MISS selection reads. A total that
counts a boolean-level dataset as 1 is a lower bound and says so (`countPrecision: imprecise`).

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

BOOLEAN_LOWER_BOUND = "boolean-level datasets counted as 1"
"""`countAdjustedTo` item of a total that counts each boolean-level dataset with matches as 1."""


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
    answered: bool = True
    """False when the dataset cannot evaluate the query (`info` says why): neither a hit nor a miss."""

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
        "responseSummary": response_summary(granularity, results),
        "response": {"resultSets": _result_sets(beacon_id, request, granularity, results)},
    }
    if info:
        document["info"] = dict(info)
    return document


def response_summary(granularity: Granularity, results: Sequence[DatasetResult]) -> dict[str, Any]:
    """The `responseSummary` of the datasets' result sets (the rule is in the module docstring)."""
    summary: dict[str, Any] = {"exists": any(result.exists for result in results)}
    if granularity >= Granularity.COUNT:
        summary["numTotalResults"] = sum(_least_count(result) for result in results)
        summary.update(_summary_adjustment(results))
    return summary


def _least_count(result: DatasetResult) -> int:
    # A boolean-level dataset's count is not the caller's to see; only that it has at least one match.
    return result.count if result.granularity >= Granularity.COUNT else int(result.exists)


def _summary_adjustment(results: Sequence[DatasetResult]) -> dict[str, Any]:
    """`countAdjustedTo`/`countPrecision` of a total with adjusted or lower-bound parts (empty if exact)."""
    countable = [result for result in results if result.granularity >= Granularity.COUNT]
    adjusted = [result for result in countable if result.count_precision is not None]
    lower_bounds = any(result.exists and result.granularity == Granularity.BOOLEAN for result in results)
    if not adjusted and not lower_bounds:
        return {}
    items = list(dict.fromkeys(item for result in adjusted for item in result.count_adjusted_to))
    items += [BOOLEAN_LOWER_BOUND] if lower_bounds else []
    # A sum of rounded counts (and zeros) is still rounded; any other exact, imprecise or lower-bound part is not.
    all_rounded = not lower_bounds and all(r.count_precision == "rounded" or not r.count for r in countable)
    adjustment: dict[str, Any] = {"countPrecision": "rounded" if all_rounded else "imprecise"}
    if len(items) <= 2:  # the spec allows at most two; more ways of adjusting are just imprecise
        adjustment["countAdjustedTo"] = items
    return adjustment


def _result_sets(
    beacon_id: str, request: BeaconRequest, granularity: Granularity, results: Sequence[DatasetResult]
) -> list[dict[str, Any]]:
    wanted = {
        "ALL": lambda result: True,
        "HIT": lambda result: result.exists,
        "MISS": lambda result: not result.exists,
        "NONE": lambda result: False,
    }[request.include_resultset_responses]
    # A dataset that could not evaluate the query is shown whenever any set is, so it is never a silent miss.
    shown = [r for r in results if wanted(r) or (not r.answered and request.include_resultset_responses != "NONE")]
    return [_result_set(beacon_id, granularity, result) for result in shown]


def _result_set(beacon_id: str, granularity: Granularity, result: DatasetResult) -> dict[str, Any]:
    # beaconId: networks (the ELIXIR beacon-network-backend) and the GDI portal read it per result set.
    result_set: dict[str, Any] = {
        "beaconId": beacon_id,
        "id": result.dataset_id,
        "setType": "dataset",
        "exists": result.exists,
    }
    if result.granularity >= Granularity.COUNT:
        result_set["resultsCount"] = result.count
        if result.count_precision is not None:
            result_set["countAdjustedTo"] = list(result.count_adjusted_to)
            result_set["countPrecision"] = result.count_precision
    if result.granularity == Granularity.RECORD:
        result_set["results"] = [dict(record) for record in result.records]
    info = dict(result.info)
    if result.granularity < granularity:
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
