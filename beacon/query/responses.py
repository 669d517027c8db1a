"""Build Beacon v2 response documents from per-dataset results (pure, no Flask, no database).

One response speaks at one `returnedGranularity`: the requested one, capped by the most any dataset
grants this caller. Datasets granted less still answer at their own level: a count-level dataset in a
record response has a result set with its count and no records (`info.returnedGranularity: count`); a
boolean-level dataset only contributes to `responseSummary.exists`, never to a count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

    @property
    def exists(self) -> bool:
        """Whether the dataset has at least one match."""
        return self.count > 0


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
    if granularity == Granularity.RECORD:
        document["response"] = {"resultSets": _result_sets(request, entry_type, countable)}
    if info:
        document["info"] = dict(info)
    return document


def _result_sets(
    request: BeaconRequest, entry_type: EntryType, results: Sequence[DatasetResult]
) -> list[dict[str, Any]]:
    wanted = {
        "ALL": lambda result: True,
        "HIT": lambda result: result.exists,
        "MISS": lambda result: not result.exists,
        "NONE": lambda result: False,
    }[request.include_resultset_responses]
    return [_result_set(entry_type, result) for result in results if wanted(result)]


def _result_set(entry_type: EntryType, result: DatasetResult) -> dict[str, Any]:
    result_set: dict[str, Any] = {
        "id": result.dataset_id,
        "setType": "dataset",
        "exists": result.exists,
        "resultsCount": result.count,
        "results": [dict(record) for record in result.records] if result.granularity == Granularity.RECORD else [],
    }
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
