"""Merging the members' answers to one query into the hub's answer (pure: no Flask, no HTTP).

- Every member's reply is judged: a Beacon result-set or collections document is *answered*; anything
  else (a timeout, no connection, not JSON, not a Beacon response, an error envelope) is reported.
- `includeResultsetResponses` picks members: HIT those whose `responseSummary` says they have a match,
  MISS the others, ALL every answering member, NONE none. A kept member's result sets are returned
  as it sent them (records untouched) with its `beaconId`; a set that already names another beacon (the
  member is itself a network) keeps that `beaconId` and gains `beaconNetworkId`. A member that says more
  than the response's granularity (the least of what was asked and the most any member granted) has
  the extra fields left out (counts in a boolean answer); records are returned untouched or not at all.
- `responseSummary` is over every answering member, kept or not: `exists` ORs theirs, and
  `numTotalResults` sums theirs, where a member that said only `exists` counts as 1 when it exists
  (then the total is a lower bound: `countPrecision: imprecise`).
- `info.members` lists every member with what happened to it: never is a member silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beacon.errors import API_VERSION
from beacon.network.fanout import ANSWERED, ERROR, INVALID, Reply
from beacon.network.members import Member

GRANULARITIES = ("boolean", "count", "record")
MEMBERS_COUNTED_AS_ONE = "members that answer only exists counted as 1"


@dataclass(frozen=True)
class Judged:
    """A member's reply and the hub's verdict on it: `outcome` is answered, timeout, error or invalid."""

    reply: Reply
    outcome: str
    message: str = ""

    @property
    def document(self) -> Mapping[str, Any]:
        """The member's document (only for answered replies)."""
        return self.reply.document

    @property
    def exists(self) -> bool:
        """Whether the member has a match (its summary's `exists`, or a positive count)."""
        summary = self.document["responseSummary"]
        return bool(summary["exists"]) or _count(summary) > 0


def judge(reply: Reply, collections: bool) -> Judged:
    """The verdict on one reply to an entry-type query."""
    if reply.outcome != ANSWERED:
        return Judged(reply, reply.outcome, reply.message)
    document = reply.document
    if reply.status is not None and reply.status >= 300:
        error = document.get("error") if isinstance(document, Mapping) else None
        message = error.get("errorMessage") if isinstance(error, Mapping) else None
        if isinstance(message, str):
            return Judged(reply, ERROR, f"HTTP {reply.status}: {message}")
        return Judged(reply, INVALID, f"HTTP {reply.status} without a Beacon error envelope")
    problem = _response_problem(document, collections)
    return Judged(reply, INVALID, problem) if problem else Judged(reply, ANSWERED)


def _response_problem(document: Any, collections: bool) -> str | None:
    """Why a document is not a Beacon response the hub can merge (None when it is)."""
    if not isinstance(document, Mapping):
        return "not a JSON object"
    meta, summary = document.get("meta"), document.get("responseSummary")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("beaconId"), str):
        return "no meta.beaconId"
    if meta.get("returnedGranularity") not in GRANULARITIES:
        return "no valid meta.returnedGranularity"
    if not isinstance(summary, Mapping) or not isinstance(summary.get("exists"), bool):
        return "no responseSummary.exists"
    if "numTotalResults" in summary and not _is_int(summary["numTotalResults"]):
        return "responseSummary.numTotalResults is not an integer"
    response = document.get("response", {})
    if not isinstance(response, Mapping):
        return "response is not an object"
    key = "collections" if collections else "resultSets"
    items = response.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        return f"response.{key} is not a list of objects"
    return None if collections else next(filter(None, map(_result_set_problem, items)), None)


def _result_set_problem(result_set: Mapping[str, Any]) -> str | None:
    if not isinstance(result_set.get("id"), str) or not isinstance(result_set.get("setType"), str):
        return "a result set without id or setType"
    if not isinstance(result_set.get("exists"), bool):
        return f"result set {result_set['id']}: exists is not a boolean"
    if "resultsCount" in result_set and not _is_int(result_set["resultsCount"]):
        return f"result set {result_set['id']}: resultsCount is not an integer"
    if not isinstance(result_set.get("results", []), list):
        return f"result set {result_set['id']}: results is not a list"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(summary: Mapping[str, Any]) -> int:
    value = summary.get("numTotalResults")
    return value if _is_int(value) else 0


def kept(judged: Sequence[Judged], include: str) -> list[Judged]:
    """The answering members whose result sets `includeResultsetResponses` returns."""
    answered = [item for item in judged if item.outcome == ANSWERED]
    if include == "ALL":
        return answered
    if include == "MISS":
        return [item for item in answered if not item.exists]
    if include == "NONE":
        return []
    return [item for item in answered if item.exists]


def merged_resultsets(
    hub_id: str, received: Mapping[str, Any], judged: Sequence[Judged], skipped: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The hub's boolean, count or resultsets answer (`skipped`: members not asked, with the reason)."""
    include = str(received.get("includeResultsetResponses", "HIT"))
    chosen = kept(judged, include)
    granularity = _granularity(judged, str(received.get("requestedGranularity", "boolean")))
    sets = [_with_beacon_ids(_at(result_set, granularity), item) for item in chosen for result_set in _sets(item)]
    return {
        "meta": _meta(hub_id, received, granularity, judged),
        "responseSummary": _summary(judged, granularity),
        "response": {"resultSets": sets},
        "info": {"members": member_reports(judged, chosen, skipped)},
    }


def merged_collections(
    hub_id: str, received: Mapping[str, Any], judged: Sequence[Judged], skipped: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The hub's answer on /datasets or /cohorts: every answering member's collections, untouched."""
    answered = [item for item in judged if item.outcome == ANSWERED]
    granularity = _granularity(judged, str(received.get("requestedGranularity", "boolean")))
    document: dict[str, Any] = {
        "meta": _meta(hub_id, received, granularity, judged),
        "responseSummary": _summary(judged, granularity),
    }
    if granularity == "record":
        document["response"] = {
            "collections": [
                dict(c) for item in answered for c in item.document.get("response", {}).get("collections", [])
            ]
        }
    document["info"] = {"members": member_reports(judged, answered, skipped)}
    return document


def _sets(item: Judged) -> list[Mapping[str, Any]]:
    return list((item.document.get("response") or {}).get("resultSets") or [])


_ABOVE_BOOLEAN = ("resultsCount", "countAdjustedTo", "countPrecision", "results")


def _at(result_set: Mapping[str, Any], granularity: str) -> Mapping[str, Any]:
    """A set without what the response's granularity cannot hold (a member that said more than asked)."""
    if granularity == "record":
        return result_set
    dropped = _ABOVE_BOOLEAN if granularity == "boolean" else ("results",)
    return {key: value for key, value in result_set.items() if key not in dropped}


def _with_beacon_ids(result_set: Mapping[str, Any], item: Judged) -> dict[str, Any]:
    member_id = item.document["meta"]["beaconId"]
    merged = dict(result_set)
    if isinstance(merged.get("beaconId"), str) and merged["beaconId"] != member_id:
        merged["beaconNetworkId"] = member_id  # the member is itself a network: the set names its own beacon
    else:
        merged["beaconId"] = member_id
    return merged


def _granularity(judged: Sequence[Judged], requested: str) -> str:
    levels = [item.document["meta"]["returnedGranularity"] for item in judged if item.outcome == ANSWERED]
    highest = max((GRANULARITIES.index(level) for level in levels), default=0)
    return GRANULARITIES[min(highest, GRANULARITIES.index(requested) if requested in GRANULARITIES else 0)]


def _summary(judged: Sequence[Judged], granularity: str) -> dict[str, Any]:
    answered = [item for item in judged if item.outcome == ANSWERED]
    summary: dict[str, Any] = {"exists": any(item.exists for item in answered)}
    if granularity == "boolean":
        return summary
    total, lower_bound = 0, False
    for item in answered:
        member_summary = item.document["responseSummary"]
        if "numTotalResults" in member_summary:
            total += member_summary["numTotalResults"]
            lower_bound = lower_bound or member_summary.get("countPrecision") == "imprecise"
        elif item.exists:
            total, lower_bound = total + 1, True
    summary["numTotalResults"] = total
    if lower_bound:
        summary.update(countPrecision="imprecise", countAdjustedTo=[MEMBERS_COUNTED_AS_ONE])
    return summary


def _meta(hub_id: str, received: Mapping[str, Any], granularity: str, judged: Sequence[Judged]) -> dict[str, Any]:
    schemas: list[dict[str, Any]] = []
    for item in judged:
        if item.outcome == ANSWERED:
            for schema in item.document["meta"].get("returnedSchemas") or []:
                if isinstance(schema, Mapping) and dict(schema) not in schemas:
                    schemas.append(dict(schema))
    meta: dict[str, Any] = {
        "beaconId": hub_id,
        "apiVersion": API_VERSION,
        "returnedGranularity": granularity,
        "receivedRequestSummary": dict(received),
        "returnedSchemas": schemas,
    }
    if isinstance(received.get("testMode"), bool):
        meta["testMode"] = received["testMode"]
    return meta


def member_reports(
    judged: Sequence[Judged], chosen: Sequence[Judged], skipped: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per member: asked or not, its outcome, whether its sets are returned and why not."""
    reports = []
    for item in judged:
        report = _member_fields(item.reply.member) | {
            "outcome": item.outcome,
            "milliseconds": round(item.reply.seconds * 1000, 1),
            "returned": any(item is other for other in chosen),
        }
        if item.reply.status is not None:
            report["httpStatus"] = item.reply.status
        if item.outcome == ANSWERED:
            report["beaconId"] = item.document["meta"]["beaconId"]
            report["exists"] = item.exists
        else:
            report["error"] = item.message
        reports.append(report)
    return reports + [dict(entry) for entry in skipped]


def _member_fields(member: Member) -> dict[str, Any]:
    return {"name": member.name, "url": member.url}


NOT_QUERIED = "notQueried"


def skipped_member(member: Member, reason: str, outcome: str = NOT_QUERIED) -> dict[str, Any]:
    """The report of a member the hub did not ask: `error` when it is down, else notQueried; with the reason."""
    return _member_fields(member) | {"outcome": outcome, "returned": False, "error": reason}
