"""A Flask test client that checks every Beacon API response it receives against the Beacon v2.2.0 schemas.

`tests/conftest.py` makes it the test client class of every Flask app built during the test session, so
any `app.test_client()` (the `client` fixture and apps built in other fixtures or tests alike) fails the
test on a response the official schemas refuse; `SCHEMA_CHECKING_HOOKS` does the same for the httpx
clients of real gunicorn servers (tests/api/test_deployment.py). The schema follows the endpoint and, for entry-type
endpoints, `meta.returnedGranularity` (boolean, count, or resultsets/collections at record level); an
error status selects the error envelope. Result sets are checked at every granularity (the boolean and
count envelopes do not check `response`), and every record against its entry type's default model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from beacon.query.granularity import Granularity
from beacon.schemas import SchemaValidator, default_validator

API_PREFIX = "/api"
FRAMEWORK_ENDPOINTS = {
    "": "info",
    "/": "info",
    "/info": "info",
    "/service-info": "service-info",
    "/configuration": "configuration",
    "/map": "map",
    "/entry_types": "entry_types",
    "/filtering_terms": "filtering_terms",
}
COLLECTION_PATHS = ("datasets", "cohorts")
MODEL_OF_ENTRY_TYPE = {
    "dataset": "datasets",
    "cohort": "cohorts",
    "individual": "individuals",
    "biosample": "biosamples",
    "genomicVariant": "genomicVariations",
    "run": "runs",
    "analysis": "analyses",
}
_BODILESS_METHODS = ("HEAD", "OPTIONS")


class SchemaCheckingClient(FlaskClient):
    """A test client whose every response must be valid Beacon v2.2.0; the schema used is `response.beacon_schema`."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        """Send the request, then fail (AssertionError) if the response breaks the Beacon schemas."""
        response = super().open(*args, **kwargs)
        check_response(response)
        return response


def check_response(response: TestResponse, validator: SchemaValidator | None = None) -> None:
    """Raise AssertionError naming the schema problems of a Flask test response (see the module docstring)."""
    request = response.request
    name = check_body(request.path, request.method, response.status_code, response.get_data(), validator)
    response.beacon_schema = name  # type: ignore[attr-defined]


def check_httpx_response(response: httpx.Response) -> None:
    """The same check for a response from a real server (an httpx `response` event hook)."""
    response.read()
    check_body(response.request.url.path, response.request.method, response.status_code, response.content)


SCHEMA_CHECKING_HOOKS = {"response": [check_httpx_response]}
"""`httpx.Client(event_hooks=SCHEMA_CHECKING_HOOKS)`: every response of a real server is checked too."""


def check_body(
    path: str, method: str, status: int, body: bytes, validator: SchemaValidator | None = None
) -> str | None:
    """The schema a response body was checked against (None: not a Beacon document); AssertionError if invalid."""
    in_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
    if method in _BODILESS_METHODS or not (in_api or status >= 400):
        return None
    try:
        document = json.loads(body)
    except ValueError:
        if in_api:
            raise AssertionError(f"{method} {path} -> {status}: the body is not JSON") from None
        return None
    if not in_api and not (isinstance(document, Mapping) and "error" in document):
        return None  # not a Beacon endpoint and not the Beacon error envelope (e.g. /health)
    if in_api and status < 400 and path.endswith("/endpoints.json"):
        # The spec's OpenAPI documents (/map's openAPIEndpointsDefinition) are not Beacon responses.
        if not (isinstance(document, Mapping) and "openapi" in document and "paths" in document):
            raise AssertionError(f"{method} {path} -> {status}: not an OpenAPI document")
        return None
    name = schema_for(path, status, document)
    problems = response_problems(validator or default_validator(), document, name, status)
    if problems:
        raise AssertionError(f"{method} {path} -> {status} breaks the Beacon v2.2.0 {name} schema: {problems[:5]}")
    return name


def schema_for(path: str, status: int, document: Any) -> str:
    """The name (`beacon.schemas.RESPONSE_SCHEMAS`) of the schema a response to this path must follow."""
    if status >= 400:
        return "error"
    rest = path[len(API_PREFIX) :]
    if rest in FRAMEWORK_ENDPOINTS:
        return FRAMEWORK_ENDPOINTS[rest]
    parts = rest.strip("/").split("/")
    if parts[-1] == "filtering_terms":
        return "filtering_terms"
    return _entry_schema(document, is_collection=parts[0] in COLLECTION_PATHS and len(parts) <= 2)


def infer_schema(document: Mapping[str, Any]) -> str:
    """The schema of a response document judged from the document alone (for tests without the path)."""
    if "error" in document:
        return "error"
    return _entry_schema(document, is_collection="collections" in (document.get("response") or {}))


def _entry_schema(document: Any, *, is_collection: bool) -> str:
    meta = document.get("meta") if isinstance(document, Mapping) else None
    granularity = meta.get("returnedGranularity") if isinstance(meta, Mapping) else None
    if granularity in ("boolean", "count"):
        return str(granularity)
    return "collections" if is_collection else "record"


def response_problems(validator: SchemaValidator, document: Any, name: str, status: int | None = None) -> list[str]:
    """Schema problems of a response: its envelope, its result sets at any granularity, and its records."""
    problems = [f"envelope: {error.message}" for error in validator.framework_errors(name, document)]
    if problems or not isinstance(document, Mapping):
        return problems
    if name == "error":
        code = document["error"].get("errorCode")
        return [] if status is None or code == status else [f"errorCode {code} is not the HTTP status {status}"]
    if name not in ("boolean", "count", "record", "collections"):
        return []
    response = document.get("response")
    if name in ("boolean", "count") and response is not None:
        problems += [f"resultSets: {error.message}" for error in validator.framework_errors("resultsets", response)]
    if problems:
        return problems
    return _granularity_problems(document, name) + _record_problems(validator, document)


def _granularity_problems(document: Mapping[str, Any], name: str) -> list[str]:
    # Not a schema rule but the same promise: nothing in a result set says more than returnedGranularity.
    returned = Granularity.parse(document["meta"]["returnedGranularity"])
    problems = []
    for result_set in (document.get("response") or {}).get("resultSets", []):
        if "resultsCount" in result_set and returned < Granularity.COUNT:
            problems.append(f"result set {result_set['id']} has a count in a {name} response")
        if "results" in result_set and returned < Granularity.RECORD:
            problems.append(f"result set {result_set['id']} has records in a {name} response")
    return problems


def _record_problems(validator: SchemaValidator, document: Mapping[str, Any]) -> list[str]:
    response = document.get("response") or {}
    records = list(response.get("collections") or [])
    records += [record for result_set in response.get("resultSets", []) for record in result_set.get("results", [])]
    if not records:
        return []
    schemas = document["meta"].get("returnedSchemas") or [{}]
    entity = MODEL_OF_ENTRY_TYPE.get(schemas[0].get("entityType", ""))
    if entity is None:
        return [f"records of entityType {schemas[0].get('entityType')!r}, which has no default model"]
    problems = []
    for record in records:
        problem = validator.first_model_error(entity, record)
        if problem:
            problems.append(f"record {record.get('id', record.get('variantInternalId'))}: {problem}")
    return problems
