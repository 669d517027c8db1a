"""What an error response echoes of the request in `receivedRequestSummary`, read leniently (no Flask here).

An error may come from a request that could not be parsed at all, so nothing here raises: each field is
echoed as received when it is a value the spec allows there (apiVersion any string, granularity and
includeResultsetResponses from their enums, skip and limit whole numbers >= 0, testMode a boolean), and
otherwise the default the beacon applies to a request without it (boolean, skip 0, the default limit,
this beacon's apiVersion). Optional fields (includeResultsetResponses, testMode) are left out then.
A POST body is read when it is a JSON object; otherwise (not JSON, not an object) the query string is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from beacon.errors import API_VERSION
from beacon.query.granularity import Granularity
from beacon.query.limits import MAX_WHOLE_NUMBER

_INCLUDE = ("ALL", "HIT", "MISS", "NONE")
_BOOLEAN_TEXT = {"true": True, "1": True, "false": False, "0": False}


def received_summary(pairs: Iterable[tuple[str, str]], body: Any, *, default_limit: int) -> dict[str, Any]:
    """The `receivedRequestSummary` of a request: from the JSON body if it is an object, else the query string."""
    raw = _from_body(body) if isinstance(body, Mapping) else _from_pairs(pairs)
    summary: dict[str, Any] = {
        "apiVersion": raw["apiVersion"] if isinstance(raw.get("apiVersion"), str) else API_VERSION,
        "requestedSchemas": _schemas(raw.get("requestedSchemas")),
        "pagination": {
            "skip": _whole_number(raw.get("skip"), 0),
            "limit": _whole_number(raw.get("limit"), default_limit),
        },
        "requestedGranularity": _granularity(raw.get("requestedGranularity")),
    }
    include = raw.get("includeResultsetResponses")
    if isinstance(include, str) and include.upper() in _INCLUDE:
        summary["includeResultsetResponses"] = include.upper()
    if isinstance(raw.get("testMode"), bool):
        summary["testMode"] = raw["testMode"]
    return summary


def _from_body(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = _mapping(body.get("meta"))
    query = _mapping(body.get("query"))
    pagination = _mapping(query.get("pagination"))
    return {
        "apiVersion": meta.get("apiVersion"),
        "requestedSchemas": meta.get("requestedSchemas"),
        "skip": pagination.get("skip"),
        "limit": pagination.get("limit"),
        "requestedGranularity": query.get("requestedGranularity"),
        "includeResultsetResponses": query.get("includeResultsetResponses"),
        "testMode": query.get("testMode"),
    }


def _from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    # A parameter given twice has no one received value (the parser refuses it).
    single = {key: items[0] for key, items in values.items() if len(items) == 1}
    schemas = single.get("requestedSchema") or single.get("requestedSchemas") or ""
    return {
        "apiVersion": single.get("apiVersion"),
        "requestedSchemas": [{"schema": part.strip()} for part in schemas.split(",") if part.strip()],
        "skip": _digits(single.get("skip")),
        "limit": _digits(single.get("limit")),
        "requestedGranularity": single.get("requestedGranularity"),
        "includeResultsetResponses": single.get("includeResultsetResponses"),
        "testMode": _BOOLEAN_TEXT.get(single.get("testMode", "").lower()),
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _digits(text: str | None) -> int | None:
    # Past MAX_WHOLE_NUMBER a number was not understood (and past 4300 digits int() refuses it).
    number = int(text) if text is not None and text.strip().isdigit() and len(text.strip()) <= 20 else None
    return number if number is not None and number <= MAX_WHOLE_NUMBER else None


def _whole_number(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return default
    return int(value) if 0 <= value <= MAX_WHOLE_NUMBER else default


def _granularity(value: Any) -> str:
    try:
        return Granularity.parse(value).value if isinstance(value, str) else Granularity.BOOLEAN.value
    except ValueError:
        return Granularity.BOOLEAN.value


def _schemas(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    kept = [{k: v for k, v in item.items() if k in ("entityType", "schema")} for item in value if _is_schema(item)]
    return [item for item in kept if item]


def _is_schema(item: Any) -> bool:
    return isinstance(item, Mapping) and all(isinstance(item.get(key, ""), str) for key in ("entityType", "schema"))
