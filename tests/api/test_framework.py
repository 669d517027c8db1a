"""Informational endpoints: schema-valid, truthful, and /map lists only endpoints that answer."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import DATA_DIR, DEMO_COHORT, DEMO_DATASET

FRAMEWORK = [
    ("/api", "info"),
    ("/api/info", "info"),
    ("/api/configuration", "configuration"),
    ("/api/map", "map"),
    ("/api/entry_types", "entry_types"),
    ("/api/filtering_terms", "filtering_terms"),
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("path", "schema"), FRAMEWORK)
def test_framework_endpoints_validate(client, validator, method, path, schema):
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, json={"meta": {"apiVersion": "v2.1.1"}})
    assert response.status_code == 200
    errors = [e.message for e in validator.framework_errors(schema, response.get_json())]
    assert errors == []


def test_service_info_validates(client, validator):
    document = client.get("/api/service-info").get_json()
    assert [e.message for e in validator.framework_errors("service-info", document)] == []
    assert document["type"] == {"group": "org.ga4gh", "artifact": "beacon", "version": "v2.2.0"}


def test_configuration_declares_entry_types_and_security_levels(client):
    response = client.get("/api/configuration").get_json()["response"]
    assert set(response["entryTypes"]) >= {"dataset", "cohort", "individual", "biosample"}
    assert response["securityAttributes"]["securityLevels"] == ["PUBLIC"]  # the demo policy
    assert response["maturityAttributes"]["productionStatus"] == "DEV"


def test_entry_types_match_configuration(client):
    entry_types = client.get("/api/entry_types").get_json()["response"]["entryTypes"]
    configured = client.get("/api/configuration").get_json()["response"]["entryTypes"]
    assert entry_types == configured


def test_filtering_terms_list_terms_present_in_the_data(client, demo_store_file):
    """Every ontology term of the demo individuals appears, as the independent term table lists them."""
    terms = client.get("/api/filtering_terms").get_json()["response"]["filteringTerms"]
    by_id = {term["id"]: term for term in terms}
    table = DATA_DIR / "cineca_uk1_bff_ritools_v2" / "ontology_terms_used.tsv"
    with open(table, encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["entity"] == "individuals"]
    assert rows, "the term table lists individual terms"
    for row in rows:
        assert row["term_id"] in by_id, row["term_id"]
        assert "individual" in by_id[row["term_id"]]["scopes"]
    assert by_id["NCIT:C16576"]["label"] == "female"


def test_info_uses_the_info_file(tmp_path, demo_store_file):
    from beacon import create_app
    from tests.conftest import make_settings

    info = {"id": "eu.goe.nl.beacon", "name": "GoE NL node", "organization": {"id": "NL", "name": "GoE NL"}}
    path = tmp_path / "info.json"
    path.write_text(json.dumps(info))
    from beacon.settings import Settings

    settings = make_settings(demo_store_file, info=Settings.from_env({"BEACON_INFO_FILE": str(path)}).info)
    document = create_app(settings).test_client().get("/api/info").get_json()
    assert document["response"]["id"] == "eu.goe.nl.beacon"
    assert document["response"]["organization"]["name"] == "GoE NL"
    assert document["meta"]["beaconId"] == "eu.goe.nl.beacon"


# -- paging /filtering_terms; the BSC network's metadata refresh ---------------------------------

NETWORK_HEADERS = {"User-Agent": "BN/2.0.0", "Accept": "application/json", "Cache-Control": "no-cache"}


def term_ids(client, path: str = "/api/filtering_terms", **params) -> list[str]:
    response = client.get(path, query_string=params, headers=NETWORK_HEADERS)
    assert response.status_code == 200, response.get_json()
    return [term["id"] for term in response.get_json()["response"]["filteringTerms"]]


def test_filtering_terms_limit_0_is_every_term(client):
    """`?limit=0` (BSC network, template UI) lists every term: more than any page size caps."""
    table = DATA_DIR / "cineca_uk1_bff_ritools_v2" / "ontology_terms_used.tsv"
    loaded = {"individuals", "biosamples", "cohorts", "datasets"}  # the demo's BFF files
    with open(table, encoding="utf-8") as handle:
        expected = {row["term_id"] for row in csv.DictReader(handle, delimiter="\t") if row["entity"] in loaded}
    everything = term_ids(client, limit=0)
    assert len(expected) > 1000  # the default maximum page of the entry endpoints
    assert expected <= set(everything)
    assert len(everything) == len(set(everything))
    assert term_ids(client) == everything  # no limit: every term as well


def test_filtering_terms_pages_follow_skip_and_limit(client):
    everything = term_ids(client, limit=0)
    size = 700
    pages = [term_ids(client, skip=skip, limit=size) for skip in range(len(everything) // size + 2)]
    assert [len(page) for page in pages[:-2]] == [size] * (len(pages) - 2)
    assert pages[-1] == []  # past the end
    assert [term for page in pages for term in page] == everything
    assert term_ids(client, skip=3, limit=2) == everything[6:8]  # skip counts pages
    body = {"query": {"pagination": {"skip": 1, "limit": 5}}}
    response = client.post("/api/filtering_terms", json=body)
    assert [term["id"] for term in response.get_json()["response"]["filteringTerms"]] == everything[5:10]
    dataset_terms = term_ids(client, f"/api/datasets/{DEMO_DATASET}/filtering_terms", limit=0)
    assert term_ids(client, f"/api/datasets/{DEMO_DATASET}/filtering_terms", skip=2, limit=3) == dataset_terms[6:9]
    assert term_ids(client, f"/api/cohorts/{DEMO_COHORT}/filtering_terms", limit=4) == dataset_terms[:4]


@pytest.mark.parametrize("params", [{"limit": -1}, {"skip": "x"}, {"limit": "1.5"}])
def test_filtering_terms_refuse_bad_paging(client, validator, params):
    response = client.get("/api/filtering_terms", query_string=params)
    assert response.status_code == 400
    assert [e.message for e in validator.framework_errors("error", response.get_json())] == []


@pytest.mark.parametrize(("path", "schema"), FRAMEWORK)
def test_the_networks_metadata_refresh_is_answered(client, validator, path, schema):
    """The BSC network GETs each informational endpoint with `?limit=0`, no token, and its own headers."""
    response = client.get(path, query_string={"limit": 0}, headers=NETWORK_HEADERS)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert [e.message for e in validator.framework_errors(schema, document)] == []
    assert document["meta"]["beaconId"]
