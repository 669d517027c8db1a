"""Entry-type endpoints over the demo data: every endpoint, granularity and method validates; counts are right.

Expected counts come from the demo files themselves (SOURCES.md: 2504 individuals, 2504 biosamples,
1 cohort, 1 dataset), not from the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import DEMO_COHORT, DEMO_DATASET, assert_valid

INDIVIDUALS_IN_DEMO = 2504
BIOSAMPLES_IN_DEMO = 2504

# (path, expected numTotalResults)
ENDPOINTS = [
    ("/api/datasets", 1),
    (f"/api/datasets/{DEMO_DATASET}", 1),
    ("/api/cohorts", 1),
    (f"/api/cohorts/{DEMO_COHORT}", 1),
    ("/api/individuals", INDIVIDUALS_IN_DEMO),
    ("/api/individuals/HG00096", 1),
    ("/api/biosamples", BIOSAMPLES_IN_DEMO),
    ("/api/biosamples/HG00096", 1),
    (f"/api/datasets/{DEMO_DATASET}/individuals", INDIVIDUALS_IN_DEMO),
    (f"/api/datasets/{DEMO_DATASET}/biosamples", BIOSAMPLES_IN_DEMO),
    (f"/api/cohorts/{DEMO_COHORT}/individuals", INDIVIDUALS_IN_DEMO),
    (f"/api/cohorts/{DEMO_COHORT}/biosamples", BIOSAMPLES_IN_DEMO),
]


def fetch(client: Any, method: str, path: str, granularity: str, **query: Any) -> dict[str, Any]:
    """GET with query parameters or POST with the equivalent request body; returns the JSON."""
    if method == "GET":
        response = client.get(path, query_string={"requestedGranularity": granularity, **query})
    else:
        body_query: dict[str, Any] = {"requestedGranularity": granularity}
        if "limit" in query or "skip" in query:
            body_query["pagination"] = {k: query.pop(k) for k in ("skip", "limit") if k in query}
        body_query.update(query)
        body = {"meta": {"apiVersion": "v2.1.1"}, "query": body_query}
        response = client.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
@pytest.mark.parametrize(("path", "expected"), ENDPOINTS)
def test_every_endpoint_validates_and_counts(client, validator, method, granularity, path, expected):
    document = fetch(client, method, path, granularity)
    assert_valid(validator, document)
    assert document["meta"]["returnedGranularity"] == granularity
    assert document["responseSummary"]["exists"] is True
    if granularity != "boolean":
        assert document["responseSummary"]["numTotalResults"] == expected
    else:
        assert "numTotalResults" not in document["responseSummary"]


def test_record_response_holds_the_requested_record(client):
    document = fetch(client, "GET", "/api/individuals/HG00096", "record")
    (result_set,) = document["response"]["resultSets"]
    assert result_set["id"] == DEMO_DATASET
    assert [record["id"] for record in result_set["results"]] == ["HG00096"]
    assert result_set["results"][0]["sex"] == {"id": "NCIT:C20197", "label": "male"}
    assert "_id" not in result_set["results"][0]


def test_pagination_skips_pages_of_limit_records(client):
    first = fetch(client, "GET", "/api/individuals", "record", limit=5)
    second = fetch(client, "GET", "/api/individuals", "record", limit=5, skip=1)
    first_ids = [r["id"] for r in first["response"]["resultSets"][0]["results"]]
    second_ids = [r["id"] for r in second["response"]["resultSets"][0]["results"]]
    assert len(first_ids) == len(second_ids) == 5
    assert not set(first_ids) & set(second_ids)
    assert first_ids + second_ids == sorted(first_ids + second_ids)
    assert second["meta"]["receivedRequestSummary"]["pagination"] == {"skip": 1, "limit": 5}


def test_limit_zero_returns_the_maximum_page_and_post_pagination_works(client):
    document = fetch(client, "POST", "/api/individuals", "record", limit=0)
    assert len(document["response"]["resultSets"][0]["results"]) == 1000
    document = fetch(client, "GET", "/api/individuals", "record", limit=1000, skip=2)
    assert len(document["response"]["resultSets"][0]["results"]) == INDIVIDUALS_IN_DEMO - 2000


def test_default_granularity_is_boolean(client):
    document = client.get("/api/individuals").get_json()
    assert document["meta"]["returnedGranularity"] == "boolean"


@pytest.mark.parametrize(
    ("include", "expected_sets"),
    [("HIT", 1), ("ALL", 1), ("MISS", 0), ("NONE", 0)],
)
def test_include_resultset_responses(client, validator, include, expected_sets):
    document = fetch(client, "GET", "/api/individuals", "record", includeResultsetResponses=include)
    assert_valid(validator, document)
    assert len(document["response"]["resultSets"]) == expected_sets


def test_test_mode_is_answered(client):
    document = fetch(client, "GET", "/api/individuals", "count", testMode="true")
    assert document["meta"]["testMode"] is True
    assert document["meta"]["receivedRequestSummary"]["testMode"] is True


def test_requested_schemas_are_echoed_and_returned_schemas_declared(client):
    document = fetch(client, "GET", "/api/biosamples", "count", requestedSchema="ga4gh-beacon-biosample-v2.0.0")
    summary = document["meta"]["receivedRequestSummary"]
    assert summary["requestedSchemas"] == [{"schema": "ga4gh-beacon-biosample-v2.0.0"}]
    assert document["meta"]["returnedSchemas"][0]["entityType"] == "biosample"


def test_datasets_declare_their_security_level(client):
    document = fetch(client, "GET", "/api/datasets", "record")
    (dataset,) = document["response"]["collections"]
    assert dataset["id"] == DEMO_DATASET
    assert dataset["info"]["securityLevel"] == "PUBLIC"
    assert "CINECA project" in dataset["description"]  # the CC-BY preamble is kept


def test_cors_allows_any_origin(client):
    response = client.get("/api/info", headers={"Origin": "https://aggregator.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/individuals",
        headers={"Origin": "https://aggregator.example", "Access-Control-Request-Method": "POST"},
    )
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
