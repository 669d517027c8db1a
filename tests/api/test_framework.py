"""Informational endpoints: schema-valid, truthful, and /map lists only endpoints that answer."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import DATA_DIR

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
    assert document["type"] == {"group": "org.ga4gh", "artifact": "beacon", "version": "v2.1.1"}


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
