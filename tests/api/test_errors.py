"""Every error path answers with the Beacon error envelope, errorCode equal to the HTTP status."""

from __future__ import annotations

from typing import Any

import pytest

from beacon import create_app
from beacon.store.base import StoreUnavailable
from tests.conftest import DEMO_DATASET, make_settings, response_errors

JSON = "application/json"

# (id, method, path, request kwargs, status, words the message must contain)
CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("unknown-endpoint", "GET", "/api/nothing_here", {}, 404, "no such endpoint"),
    ("unknown-individual", "GET", "/api/individuals/NOPE", {}, 404, "NOPE"),
    ("unknown-dataset", "GET", "/api/datasets/NOPE", {}, 404, "NOPE"),
    ("unknown-dataset-relation", "GET", "/api/datasets/NOPE/individuals", {}, 404, "NOPE"),
    ("unknown-cohort", "GET", "/api/cohorts/NOPE/individuals", {}, 404, "NOPE"),
    ("method-put", "PUT", "/api/individuals", {}, 405, "method not allowed"),
    ("method-delete-info", "DELETE", "/api/info", {}, 405, "method not allowed"),
    (
        "post-not-json",
        "POST",
        "/api/individuals",
        {"data": "x=1", "content_type": "text/plain"},
        415,
        "application/json",
    ),
    ("post-form", "POST", "/api/info", {"data": {"a": "b"}}, 415, "application/json"),
    (
        "post-malformed-json",
        "POST",
        "/api/individuals",
        {"data": "{not json", "content_type": JSON},
        400,
        "not valid JSON",
    ),
    ("post-array-body", "POST", "/api/individuals", {"data": "[1, 2]", "content_type": JSON}, 400, "JSON object"),
    (
        "post-bad-granularity",
        "POST",
        "/api/individuals",
        {"json": {"meta": {"apiVersion": "v2.1.1"}, "query": {"requestedGranularity": "everything"}}},
        400,
        "invalid",
    ),
    (
        "post-bad-pagination",
        "POST",
        "/api/individuals",
        {"json": {"meta": {"apiVersion": "v2.1.1"}, "query": {"pagination": {"limit": -1}}}},
        400,
        "limit",
    ),
    (
        "post-unknown-request-parameter",
        "POST",
        "/api/individuals",
        {"json": {"meta": {"apiVersion": "v2.1.1"}, "query": {"requestParameters": {"color": "red"}}}},
        400,
        "color",
    ),
    ("get-unknown-parameter", "GET", "/api/individuals?colour=red", {}, 400, "colour"),
    ("get-bad-granularity", "GET", "/api/individuals?requestedGranularity=all", {}, 400, "requestedGranularity"),
    ("get-limit-too-large", "GET", "/api/individuals?limit=1001", {}, 400, "1000"),
    ("get-limit-not-a-number", "GET", "/api/individuals?limit=ten", {}, 400, "limit"),
    ("get-negative-skip", "GET", "/api/individuals?skip=-1", {}, 400, "skip"),
    ("get-include-invalid", "GET", "/api/individuals?includeResultsetResponses=SOME", {}, 400, "includeResultset"),
    ("get-test-mode-invalid", "GET", "/api/individuals?testMode=maybe", {}, 400, "testMode"),
    ("get-parameter-twice", "GET", "/api/individuals?limit=1&limit=2", {}, 400, "limit"),
    ("get-info-unknown-parameter", "GET", "/api/info?x=1", {}, 400, "x"),
    ("related-unknown-parameter", "GET", f"/api/datasets/{DEMO_DATASET}/individuals?foo=1", {}, 400, "foo"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_error_envelope(client, validator, method, path, kwargs, status, words):
    response = client.open(path, method=method, **kwargs)
    document = response.get_json()
    assert response.status_code == status
    assert response_errors(validator, document) == []
    assert document["error"]["errorCode"] == status
    assert words.lower() in document["error"]["errorMessage"].lower()


class ExplodingStore:
    """A store whose every read fails, to reach the generic 500 and the 503 paths."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def list_datasets(self) -> list[dict[str, Any]]:
        raise self.error

    def filtering_terms(self, entity: str | None = None) -> list[Any]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "must_not_contain"),
    [
        (RuntimeError("secret table name /srv/private.sqlite"), 500, "secret"),
        (StoreUnavailable("mongodb://admin:hunter2@db"), 503, "hunter2"),
    ],
    ids=["unexpected-500", "store-down-503"],
)
def test_server_errors_never_echo_exception_text(tmp_path, validator, error, status, must_not_contain):
    app = create_app(make_settings(tmp_path / "unused.sqlite"), store=ExplodingStore(error))
    for path in ("/api/individuals", "/api/filtering_terms", "/api/configuration"):
        response = app.test_client().get(path)
        document = response.get_json()
        assert response.status_code == status
        assert document["error"]["errorCode"] == status
        assert must_not_contain not in response.get_data(as_text=True)
        assert response_errors(validator, document) == []


def test_method_not_allowed_names_the_allowed_methods(client):
    response = client.put("/api/individuals")
    assert "GET" in response.headers["Allow"]


METADATA_PATHS = ["/api", "/api/", "/api/info", "/api/service-info", "/api/configuration", "/api/map",
                  "/api/entry_types", "/api/filtering_terms", "/api/filtering_terms?limit=0"]  # fmt: skip
BAD_CREDENTIALS = ["Bearer not-a-token", "Bearer a.b.c", "Basic dXNlcjpwdw==", "Bearer " + "A" * 20_000]


@pytest.mark.parametrize("header", BAD_CREDENTIALS, ids=["opaque", "three-dots", "basic", "oversized"])
@pytest.mark.parametrize("path", METADATA_PATHS)
def test_informational_endpoints_ignore_the_authorization_header(client, path, header):
    """A portal or a network sends the user's token with metadata requests: whatever it is, the answer is the same."""
    anonymous = client.get(path)
    response = client.get(path, headers={"Authorization": header})
    assert (response.status_code, anonymous.status_code) == (200, 200)
    assert response.get_data() == anonymous.get_data()
    assert "WWW-Authenticate" not in response.headers


# (id, method, path, request kwargs, expected receivedRequestSummary members)
ECHOES: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "post-unknown-parameter",
        "POST",
        "/api/individuals",
        {
            "json": {
                "meta": {"apiVersion": "2.0", "requestedSchemas": [{"entityType": "individual", "schema": "s"}]},
                "query": {
                    "requestedGranularity": "record",
                    "pagination": {"skip": 2, "limit": 1},
                    "includeResultsetResponses": "MISS",
                    "testMode": True,
                    "requestParameters": {"color": "red"},
                },
            }
        },
        {
            "apiVersion": "2.0",
            "requestedSchemas": [{"entityType": "individual", "schema": "s"}],
            "pagination": {"skip": 2, "limit": 1},
            "requestedGranularity": "record",
            "includeResultsetResponses": "MISS",
            "testMode": True,
        },
    ),
    (
        "post-bad-limit-keeps-the-rest",
        "POST",
        "/api/g_variants",
        {
            "json": {
                "meta": {"apiVersion": "v2.0.0"},
                "query": {"requestedGranularity": "count", "pagination": {"skip": 1, "limit": -1}},
            }
        },
        {"apiVersion": "v2.0.0", "pagination": {"skip": 1, "limit": 10}, "requestedGranularity": "count"},
    ),
    (
        "post-bad-granularity",
        "POST",
        "/api/individuals",
        {"json": {"meta": {"apiVersion": "v2.1.1"}, "query": {"requestedGranularity": "everything"}}},
        {"apiVersion": "v2.1.1", "requestedGranularity": "boolean"},
    ),
    (
        "post-with-wrong-content-type",
        "POST",
        "/api/individuals",
        {
            "data": '{"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "count"}}',
            "content_type": "text/plain",
        },
        {"apiVersion": "v2.0", "requestedGranularity": "count"},
    ),
    (
        "post-malformed-json-reads-the-query-string",
        "POST",
        "/api/individuals?requestedGranularity=count&limit=3",
        {"data": "{not json", "content_type": JSON},
        {"pagination": {"skip": 0, "limit": 3}, "requestedGranularity": "count", "apiVersion": "v2.2.0"},
    ),
    (
        "post-wrong-shapes",
        "POST",
        "/api/individuals",
        {"json": {"meta": "v2", "query": {"pagination": "first", "requestedGranularity": 3, "testMode": "yes"}}},
        {"apiVersion": "v2.2.0", "pagination": {"skip": 0, "limit": 10}, "requestedGranularity": "boolean"},
    ),
    (
        "get-unknown-parameter",
        "GET",
        "/api/individuals?colour=red&requestedGranularity=record&skip=1&limit=5&apiVersion=v2.0&testMode=true",
        {},
        {
            "apiVersion": "v2.0",
            "pagination": {"skip": 1, "limit": 5},
            "requestedGranularity": "record",
            "testMode": True,
        },
    ),
    (
        "get-limit-too-large",
        "GET",
        "/api/g_variants?limit=1001&requestedGranularity=count&includeResultsetResponses=all",
        {},
        {"pagination": {"skip": 0, "limit": 1001}, "requestedGranularity": "count", "includeResultsetResponses": "ALL"},
    ),
    (
        "get-not-found",
        "GET",
        "/api/individuals/NOPE?requestedGranularity=count&requestedSchema=beacon-individual-v2.0.0",
        {},
        {"requestedGranularity": "count", "requestedSchemas": [{"schema": "beacon-individual-v2.0.0"}]},
    ),
    ("get-limit-given-twice", "GET", "/api/individuals?limit=1&limit=2", {}, {"pagination": {"skip": 0, "limit": 10}}),
    (
        "post-non-finite-numbers",
        "POST",
        "/api/individuals",
        {"data": '{"query": {"pagination": {"skip": NaN, "limit": Infinity}}}', "content_type": JSON},
        {"pagination": {"skip": 0, "limit": 10}},
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "expected"), [case[1:] for case in ECHOES], ids=[case[0] for case in ECHOES]
)
def test_an_error_echoes_the_request_as_received(client, method, path, kwargs, expected):
    response = client.open(path, method=method, **kwargs)
    assert response.status_code >= 400
    received = response.get_json()["meta"]["receivedRequestSummary"]
    defaults = {"apiVersion": "v2.2.0", "requestedSchemas": [], "pagination": {"skip": 0, "limit": 10}}
    assert received == defaults | {"requestedGranularity": "boolean"} | expected
