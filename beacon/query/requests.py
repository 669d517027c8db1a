"""Parse a GET query string or a POST body into one typed `BeaconRequest` (no Flask here).

GET and POST share everything after this module: the blueprint hands over either the query-string
pairs or the decoded JSON body, and gets back the same frozen request object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beacon.errors import API_VERSION, BadRequest
from beacon.query.granularity import Granularity
from beacon.query.limits import whole_number
from beacon.schemas import SchemaValidator, describe_error

INCLUDE_RESULTSET_RESPONSES = ("ALL", "HIT", "MISS", "NONE")
REPEATABLE_PARAMETERS = frozenset({"start", "end", "variantType", "datasets"})
# GET parameters every entry-type endpoint understands; endpoints add their own request parameters.
COMMON_GET_PARAMETERS = frozenset(
    {
        "requestedGranularity",
        "includeResultsetResponses",
        "skip",
        "limit",
        "filters",
        "testMode",
        "requestedSchema",
        "requestedSchemas",
        "apiVersion",
        "datasets",
    }
)


@dataclass(frozen=True)
class BeaconRequest:
    """What the caller asked for, independent of GET or POST."""

    requested_granularity: Granularity = Granularity.BOOLEAN
    include_resultset_responses: str = "HIT"
    skip: int = 0
    limit: int = 10
    filters: tuple[Any, ...] = ()
    request_parameters: Mapping[str, Any] = field(default_factory=dict)
    requested_schemas: tuple[Mapping[str, str], ...] = ()
    test_mode: bool = False
    api_version: str = API_VERSION
    dataset_ids: tuple[str, ...] | None = None
    """The datasets the caller selected (`datasets` in GET, `requestParameters.datasets` in POST); None: all."""

    @property
    def offset(self) -> int:
        """Records to skip: the spec's `skip` counts pages of `limit` records."""
        return self.skip * self.limit

    def summary(self) -> dict[str, Any]:
        """The `receivedRequestSummary` section echoing this request."""
        summary: dict[str, Any] = {
            "apiVersion": self.api_version,
            "requestedSchemas": [dict(schema) for schema in self.requested_schemas],
            "pagination": {"skip": self.skip, "limit": self.limit},
            "requestedGranularity": self.requested_granularity.value,
            "includeResultsetResponses": self.include_resultset_responses,
            "testMode": self.test_mode,
        }
        if self.filters:
            summary["filters"] = [_summary_filter(item) for item in self.filters]
        # requestParameters are not echoed: the spec's placeholder schema for them types every value
        # as an object, so echoing `{"referenceName": "22"}` would make the response invalid.
        return summary


def _summary_filter(item: Any) -> str:
    # The Beacon v2 schemas type receivedRequestSummary.filters as strings (ga4gh-beacon/beacon-v2#176);
    # the API replaces the request's filters by their text forms (`beacon.query.filtering`).
    return str(item.get("id", "")) if isinstance(item, Mapping) else str(item)


@dataclass(frozen=True)
class Limits:
    """Page-size bounds from the settings."""

    default_limit: int = 10
    max_limit: int = 1000


def parse_get(
    pairs: Iterable[tuple[str, str]], *, allowed_parameters: Iterable[str] = (), limits: Limits = Limits()
) -> BeaconRequest:
    """Parse query-string pairs; unknown parameters are a 400 that names them."""
    allowed = set(allowed_parameters)
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    unknown = sorted(set(values) - COMMON_GET_PARAMETERS - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
    # OpenAPI's default array style repeats a parameter (`start=1&start=9`): the same as `start=1,9`.
    single = {
        key: ",".join(items) if key in REPEATABLE_PARAMETERS else _single(key, items)
        for key, items in values.items()
        if key != "filters"
    }
    limit = _parse_limit(single.get("limit"), limits)
    return BeaconRequest(
        requested_granularity=_parse_granularity(single.get("requestedGranularity")),
        include_resultset_responses=_parse_include(single.get("includeResultsetResponses")),
        skip=_parse_non_negative("skip", single.get("skip"), 0),
        limit=limit,
        filters=tuple(_split_filters(values.get("filters", []))),
        request_parameters={key: single[key] for key in single if key in allowed and key != "datasets"},
        requested_schemas=_parse_get_schemas(single.get("requestedSchema") or single.get("requestedSchemas")),
        test_mode=_parse_bool("testMode", single.get("testMode")),
        api_version=single.get("apiVersion", API_VERSION),
        dataset_ids=parse_dataset_ids(single.get("datasets")),
    )


def parse_post(
    body: Any,
    *,
    validator: SchemaValidator,
    allowed_parameters: Iterable[str] = (),
    limits: Limits = Limits(),
) -> BeaconRequest:
    """Parse a decoded JSON body, validated against the spec's `beaconRequestBody` schema."""
    if not isinstance(body, Mapping):
        raise BadRequest("the request body must be a JSON object")
    body = {"meta": {"apiVersion": API_VERSION}, **_without_nulls(body)}  # lenient: many clients omit meta
    error = next(iter(validator.framework_errors("request", _without_parameters(body))), None)
    if error is not None:
        raise BadRequest(f"invalid request body: {describe_error(error)}")
    query = body.get("query") or {}
    pagination = query.get("pagination") or {}
    parameters = _parameter_set(query.get("requestParameters"))
    dataset_ids = _post_dataset_ids(query, parameters)
    parameters = {key: value for key, value in parameters.items() if key != "datasets"}
    _reject_unknown_parameters(parameters, allowed_parameters)
    return BeaconRequest(
        requested_granularity=_parse_granularity(query.get("requestedGranularity")),
        include_resultset_responses=_parse_include(query.get("includeResultsetResponses")),
        skip=_parse_non_negative("skip", pagination.get("skip"), 0),
        limit=_parse_limit(pagination.get("limit"), limits),
        filters=tuple(query.get("filters") or ()),
        request_parameters=dict(parameters),
        requested_schemas=tuple(body["meta"].get("requestedSchemas") or ()),
        test_mode=bool(query.get("testMode", False)),
        api_version=str(body["meta"].get("apiVersion", API_VERSION)),
        dataset_ids=dataset_ids,
    )


def _without_nulls(body: Mapping[str, Any]) -> dict[str, Any]:
    # Generated clients (the GDI portal's) send JSON null for every unset optional member:
    # `"requestParameters": null`, `"pagination": {"currentPage": null, ...}`. Null means "not given".
    cleaned = _drop_nulls(body)
    for section in ("meta", "query"):
        if isinstance(cleaned.get(section), Mapping):
            cleaned[section] = _drop_nulls(cleaned[section])
    query = cleaned.get("query")
    if isinstance(query, dict):
        if isinstance(query.get("pagination"), Mapping):
            query["pagination"] = _drop_nulls(query["pagination"])
        if isinstance(query.get("filters"), list):
            query["filters"] = [_drop_nulls(item) if isinstance(item, Mapping) else item for item in query["filters"]]
    return cleaned


def _drop_nulls(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def _parameter_set(parameters: Any) -> Mapping[str, Any]:
    if isinstance(parameters, list) and len(parameters) == 1:
        parameters = parameters[0]  # the spec's list form, with the one set this beacon answers
    if parameters is None or parameters == []:
        return {}
    if not isinstance(parameters, Mapping):
        # The spec also allows a list of parameter sets; this beacon answers one set per request.
        raise BadRequest("query.requestParameters must be an object (one set of parameters)")
    return _drop_nulls(parameters)


def _post_dataset_ids(query: Mapping[str, Any], parameters: Mapping[str, Any]) -> tuple[str, ...] | None:
    # The spec's example puts the selection in requestParameters.datasets.datasetIds; some clients
    # send it as query.datasets. Both are read; naming two different selections is ambiguous.
    in_parameters = parse_dataset_ids(parameters.get("datasets"), "requestParameters.datasets")
    in_query = parse_dataset_ids(query.get("datasets"), "query.datasets")
    if in_parameters is not None and in_query is not None and set(in_parameters) != set(in_query):
        raise BadRequest("query.datasets and query.requestParameters.datasets select different datasets; give one")
    return in_parameters if in_parameters is not None else in_query


def parse_dataset_ids(value: Any, name: str = "datasets") -> tuple[str, ...] | None:
    """Dataset ids from a comma list, a list of ids or the spec's `{"datasetIds": [...]}`; None: no selection."""
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"datasetIds"})
        if unknown:
            raise BadRequest(f'{name}: unknown member(s) {", ".join(unknown)}; use {{"datasetIds": [...]}}')
        value = value.get("datasetIds")
    if isinstance(value, str):
        value = value.split(",")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest(f'{name} must be a list of dataset ids or {{"datasetIds": [...]}}, got {value!r}')
    ids = tuple(dict.fromkeys(item.strip() for item in value if item.strip()))
    return ids or None


def _without_parameters(body: Mapping[str, Any]) -> Mapping[str, Any]:
    # The framework's requestParameters.json is a placeholder that types every value as an object,
    # which no real query (`"start": [123]`) satisfies; the endpoint's own parser checks them instead.
    query = body.get("query")
    if not isinstance(query, Mapping) or "requestParameters" not in query:
        return body
    return {**body, "query": {k: v for k, v in query.items() if k != "requestParameters"}}


def _reject_unknown_parameters(parameters: Mapping[str, Any], allowed_parameters: Iterable[str]) -> None:
    unknown = sorted(set(parameters) - set(allowed_parameters))
    if unknown:
        raise BadRequest(f"unknown request parameter(s): {', '.join(unknown)}")


def _single(key: str, items: Sequence[str]) -> str:
    if len(items) > 1:
        raise BadRequest(f"query parameter {key} given {len(items)} times; give it once")
    return items[0]


def _split_filters(items: Iterable[str]) -> Iterable[str]:
    for item in items:
        yield from (part.strip() for part in item.split(",") if part.strip())


def _parse_granularity(value: Any) -> Granularity:
    if value is None:
        return Granularity.BOOLEAN
    try:
        return Granularity.parse(str(value))
    except ValueError as error:
        raise BadRequest(f"requestedGranularity: {error}") from None


def _parse_include(value: Any) -> str:
    if value is None:
        return "HIT"
    text = str(value).upper()
    if text not in INCLUDE_RESULTSET_RESPONSES:
        raise BadRequest(f"includeResultsetResponses must be one of {', '.join(INCLUDE_RESULTSET_RESPONSES)}")
    return text


def _parse_non_negative(name: str, value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    return whole_number(name, value)


def _parse_limit(value: Any, limits: Limits) -> int:
    limit = _parse_non_negative("limit", value, limits.default_limit)
    if limit == 0:  # spec: 0 asks for everything, i.e. the beacon's maximum page
        return limits.max_limit
    if limit > limits.max_limit:
        raise BadRequest(f"limit must be at most {limits.max_limit}, got {limit}")
    return limit


def _parse_bool(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadRequest(f"{name} must be true or false, got {value!r}")


def _parse_get_schemas(value: str | None) -> tuple[Mapping[str, str], ...]:
    if not value:
        return ()
    return tuple({"schema": part.strip()} for part in value.split(",") if part.strip())
