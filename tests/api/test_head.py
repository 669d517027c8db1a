"""HEAD works wherever GET does (monitoring probes use it): the GET answer without its body.

Every URL of `/map` is checked, and the framework and operations endpoints; OPTIONS preflights are
unchanged (HEAD needs none: it is a CORS-safelisted method).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from tests.conftest import CINECA_DIR, DEMO_COHORT, DEMO_DATASET, make_settings

BASE_URL = "http://beacon.test"
EXAMPLE_IDS = {
    "dataset": DEMO_DATASET,
    "cohort": DEMO_COHORT,
    "individual": "HG00096",
    "biosample": "HG00096",
    "genomicVariant": "GRCh37-22-16050075-A-G",
    "run": json.loads((CINECA_DIR / "runs.json").read_text(encoding="utf-8"))[0]["id"],
    "analysis": json.loads((CINECA_DIR / "analyses.json").read_text(encoding="utf-8"))[0]["id"],
}
FRAMEWORK = ["/api", "/api/", "/api/info", "/api/service-info", "/api/configuration", "/api/map"]
FRAMEWORK += ["/api/entry_types", "/api/filtering_terms", "/health/live", "/health/ready"]
QUERIES = [
    "/api/g_variants?referenceName=22&start=16050074&alternateBases=G&assemblyId=GRCh37",
    "/api/g_variants?referenceName=22&start=16050000&end=16100000&requestedGranularity=count",
    "/api/individuals?filters=NCIT:C16576&requestedGranularity=record&limit=2",
    "/api/biosamples?skip=5&limit=3",
]


def map_urls(client: FlaskClient, *keys: str) -> list[str]:
    """The URLs `/map` lists under `keys` of each endpoint set (paths; `{id}` is a record of the demo data)."""
    endpoint_sets = client.get("/api/map").get_json()["response"]["endpointSets"]
    urls = []
    for entry_type, endpoint_set in endpoint_sets.items():
        templates = [endpoint_set[key] for key in keys if key in endpoint_set]
        if "endpoints" in keys:
            templates.remove(endpoint_set["endpoints"])
            templates += [endpoint["url"] for endpoint in endpoint_set["endpoints"].values()]
        urls += [template.replace("{id}", EXAMPLE_IDS[entry_type]).removeprefix(BASE_URL) for template in templates]
    return urls


def assert_head_matches_get(client: FlaskClient, path: str) -> None:
    """HEAD gets GET's status and headers, and no body."""
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
    assert head.data == b"", path
    assert head.headers["Content-Type"] == get.headers["Content-Type"], path
    assert int(head.headers["Content-Length"]) == len(get.data), path


@pytest.fixture(scope="module")
def experiments_client(experiments_store_file: Path) -> FlaskClient:
    """The demo with runs and analyses loaded, so that every entry type of `/map` has a record."""
    return create_app(make_settings(experiments_store_file)).test_client()


def test_head_answers_every_query_url_of_the_map_with_200(experiments_client):
    client = experiments_client
    urls = map_urls(client, "rootUrl", "singleEntryUrl", "endpoints", "filteringTermsUrl")
    assert len(urls) == 31  # 7 entry types: 7 root and 7 single-entry URLs, 15 lookups, 2 filtering terms URLs
    for path in urls:
        assert client.get(path).status_code == 200, path
        assert_head_matches_get(client, path)


def test_head_of_the_openapi_urls_of_the_map_answers_like_get(experiments_client):
    urls = map_urls(experiments_client, "openAPIEndpointsDefinition")
    assert len(urls) == len(EXAMPLE_IDS)
    for path in urls:
        assert experiments_client.get(path).status_code == 200, path
        assert_head_matches_get(experiments_client, path)


@pytest.mark.parametrize("path", FRAMEWORK + QUERIES)
def test_head_answers_the_framework_endpoints_and_queries_with_200(client, path):
    assert client.get(path).status_code == 200
    assert_head_matches_get(client, path)


def test_head_of_metrics_has_no_body(client):
    response = client.head("/metrics")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["Content-Type"].startswith("text/plain")


def test_head_with_a_bad_request_gets_the_status_of_get(client):
    path = "/api/g_variants?referenceName=22&start=notanumber"
    assert client.get(path).status_code == 400
    assert_head_matches_get(client, path)


def test_options_preflight_still_allows_get_and_post(client):
    preflight = client.options(
        "/api/individuals",
        headers={"Origin": "https://aggregator.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200 and preflight.data == b""
    allowed = {method.strip() for method in preflight.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allowed
