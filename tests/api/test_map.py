"""/map and everything it links to: every URL answers, the OpenAPI documents, entry type names, base URL.

The BSC beacon network reads `/map` to route queries (docs: NETWORK-CLIENTS.md): it calls a member only for
the `entryType` names of the spec's default model and at the member's absolute URLs; its validator then
follows `rootUrl`, `singleEntryUrl` and the related endpoints with real record ids. The ids and the names
expected here come from the data files and the spec's own files in `schemas/` (the source tree), never from
this beacon's answers.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_DIR
from tests.conftest import CINECA_DIR, DATA_DIR, assert_valid, make_settings

HOST = "http://beacon.test"
BASE = f"{HOST}/api"
SPEC = Path(__file__).resolve().parents[2] / "schemas" / "beacon-v2"
MODELS = SPEC / "models" / "json" / "beacon-v2-default-model"
MODEL_OF_PATH = {
    "datasets": "datasets",
    "cohorts": "cohorts",
    "individuals": "individuals",
    "biosamples": "biosamples",
    "g_variants": "genomicVariations",
    "runs": "runs",
    "analyses": "analyses",
}


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def first_id(path: Path) -> str:
    return str(read_json(path)[0]["id"])


def first_variant_id() -> str:
    # The loader's id (`assembly-chromosome-position-ref-alt`) of a variant the reference tool lists.
    with gzip.open(DATA_DIR / "vcf" / "cineca_uk1_chr22_case_level_subset.tsv.gz", "rt", newline="") as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    return f"GRCh37-22-{row['pos']}-{row['ref']}-{row['alt']}"


# A real record of each entry type, by endpoint path.
IDS = {
    "datasets": first_id(DEMO_DIR / "datasets.json"),
    "cohorts": first_id(DEMO_DIR / "cohorts.json"),
    "individuals": first_id(DEMO_DIR / "individuals.json"),
    "biosamples": first_id(DEMO_DIR / "biosamples.json"),
    "g_variants": first_variant_id(),
    "runs": first_id(CINECA_DIR / "runs.json"),
    "analyses": first_id(CINECA_DIR / "analyses.json"),
}
SPEC_ENTRY_TYPES = read_json(MODELS / "beaconConfiguration.json")["entryTypes"]


@pytest.fixture(scope="module")
def client(experiments_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    policy.write_text("default_level: PUBLIC\nrare_alleles: {enabled: false}\n", encoding="utf-8")
    return create_app(make_settings(experiments_store_file, access_file=policy, base_url=BASE)).test_client()


def endpoint_sets(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/map")
    assert response.status_code == 200
    return response.get_json()["response"]["endpointSets"]


def path_of(url: str) -> str:
    assert url.startswith(f"{BASE}/"), url
    return url.removeprefix(HOST)


def filled(template: str, root: str) -> str:
    """A URL template with `{id}` replaced by a real id of the entry type served at `root`."""
    return template.replace("{id}", IDS[root.rsplit("/", 1)[-1]])


def map_urls(client: FlaskClient) -> list[tuple[str, str, str | None]]:
    """(kind, absolute URL, returned entry type) of every URL in /map, ids filled in."""
    urls = []
    for endpoint_set in endpoint_sets(client).values():
        root = endpoint_set["rootUrl"]
        urls.append(("entries", root, endpoint_set["entryType"]))
        urls.append(("entries", filled(endpoint_set["singleEntryUrl"], root), endpoint_set["entryType"]))
        urls.append(("openapi", endpoint_set["openAPIEndpointsDefinition"], None))
        if "filteringTermsUrl" in endpoint_set:
            urls.append(("filtering_terms", filled(endpoint_set["filteringTermsUrl"], root), None))
        for related in endpoint_set["endpoints"].values():
            urls.append(("entries", filled(related["url"], root), related["returnedEntryType"]))
    return urls


def test_every_url_in_the_map_answers_with_valid_json(client, validator):
    urls = map_urls(client)
    assert {kind for kind, _, _ in urls} == {"entries", "openapi", "filtering_terms"}
    for kind, url, entry_type in urls:
        for method in ("GET", "POST") if kind == "entries" else ("GET",):
            body = {"query": {"requestedGranularity": "record"}} if method == "POST" else None
            response = client.open(path_of(url), method=method, json=body)
            assert response.status_code == 200, (method, url, response.get_json())
            assert response.mimetype == "application/json", url
            document = response.get_json()
            if kind == "entries":
                assert_valid(validator, document)
                assert document["meta"]["returnedSchemas"][0]["entityType"] == entry_type, url
            elif kind == "filtering_terms":
                assert [e.message for e in validator.framework_errors("filtering_terms", document)] == [], url
            else:
                assert document["openapi"].startswith("3."), url
                assert document["paths"], url
                assert document["servers"] == [{"url": BASE}], url


def test_single_entry_urls_find_the_real_records(client):
    for endpoint_set in endpoint_sets(client).values():
        url = filled(endpoint_set["singleEntryUrl"], endpoint_set["rootUrl"])
        document = client.get(path_of(url), query_string={"requestedGranularity": "record"}).get_json()
        assert document["responseSummary"]["exists"] is True, url
        records = document["response"].get("collections") or [
            record for result_set in document["response"]["resultSets"] for record in result_set["results"]
        ]
        wanted = IDS[endpoint_set["rootUrl"].rsplit("/", 1)[-1]]
        assert [record.get("id", record.get("variantInternalId")) for record in records] == [wanted], url


def spec_endpoints(entry_path: str | None) -> dict[str, Any]:
    if entry_path is None:
        return read_json(SPEC / "framework" / "json" / "endpoints.json")
    return read_json(MODELS / MODEL_OF_PATH[entry_path] / "endpoints.json")


def openapi_urls(client: FlaskClient) -> dict[str | None, str]:
    """The OpenAPI document of each entry type (by path) and of the framework (None)."""
    urls: dict[str | None, str] = {None: f"{BASE}/endpoints.json"}
    for endpoint_set in endpoint_sets(client).values():
        urls[endpoint_set["rootUrl"].rsplit("/", 1)[-1]] = endpoint_set["openAPIEndpointsDefinition"]
    return urls


def test_openapi_documents_list_exactly_the_spec_paths_this_beacon_serves(client):
    urls = openapi_urls(client)
    assert set(urls) == {None, *IDS}
    for entry_path, url in urls.items():
        document = client.get(path_of(url)).get_json()
        spec = spec_endpoints(entry_path)
        assert set(document["paths"]) <= set(spec["paths"])
        for path, item in spec["paths"].items():
            methods = [method for method in ("get", "post") if method in item]
            segments = path.strip("/").split("/")
            target = BASE + (path.replace("{id}", IDS[segments[0]]) if "{id}" in path else path)
            for method in methods:
                body = {"query": {}} if method == "post" else None
                status = client.open(path_of(target), method=method.upper(), json=body).status_code
                if path in document["paths"]:
                    assert status == 200, (method, target)
                else:
                    assert status == 404, (method, target)  # a spec path this beacon does not serve
        assert document["paths"], url


def test_openapi_documents_are_the_specs_with_our_server_and_resolvable_refs(client):
    for entry_path, url in openapi_urls(client).items():
        document = client.get(path_of(url)).get_json()
        spec = spec_endpoints(entry_path)
        assert document["openapi"] == spec["openapi"]
        assert document["info"] == spec["info"]
        assert document["servers"] == [{"url": BASE}]
        assert spec["servers"] == []
        for path, item in document["paths"].items():
            assert _without_refs(item) == _without_refs(spec["paths"][path])
        refs = _refs(document)
        assert refs, url
        # Local refs stay; file refs become absolute URLs of the spec's own files.
        prefix = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
        for ref in refs:
            assert ref.startswith(("#/", prefix)), ref
            relative = ref.removeprefix(prefix).split("#")[0]
            assert ref.startswith("#") or (SPEC / relative).is_file(), ref


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _without_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_refs(v) for k, v in node.items() if k != "$ref"}
    if isinstance(node, list):
        return [_without_refs(item) for item in node]
    return node


def test_entry_type_names_are_the_default_models(client):
    spec_ids = set(SPEC_ENTRY_TYPES)
    sets = endpoint_sets(client)
    assert {endpoint_set["entryType"] for endpoint_set in sets.values()} == spec_ids
    assert set(sets) == spec_ids
    returned = {e["returnedEntryType"] for s in sets.values() for e in s["endpoints"].values()}
    assert returned <= spec_ids
    for path in ("/api/entry_types", "/api/configuration"):
        entry_types = client.get(path).get_json()["response"]["entryTypes"]
        assert set(entry_types) == spec_ids
        for entry_id, definition in entry_types.items():
            assert definition["id"] == entry_id
            assert definition["name"] == SPEC_ENTRY_TYPES[entry_id]["name"]
            spec_term = SPEC_ENTRY_TYPES[entry_id]["ontologyTermForThisType"]
            assert definition["ontologyTermForThisType"]["id"] == spec_term["id"]


def test_every_url_is_absolute_under_the_configured_base_url(experiments_store_file):
    base = "https://beacon.example.org/node-1/api"
    client = create_app(make_settings(experiments_store_file, base_url=f"{base}/")).test_client()
    document = client.get("/api/map").get_json()
    urls = [
        url
        for endpoint_set in document["response"]["endpointSets"].values()
        for url in (
            endpoint_set["rootUrl"],
            endpoint_set["singleEntryUrl"],
            endpoint_set["openAPIEndpointsDefinition"],
            endpoint_set.get("filteringTermsUrl", f"{base}/"),
            *(related["url"] for related in endpoint_set["endpoints"].values()),
        )
    ]
    assert len(urls) > 30
    assert all(url.startswith(f"{base}/") and "//" not in url.removeprefix("https://") for url in urls), urls
    roots = {s["entryType"]: s["rootUrl"] for s in document["response"]["endpointSets"].values()}
    assert roots["genomicVariant"] == f"{base}/g_variants"
    assert roots["run"] == f"{base}/runs"
    assert roots["analysis"] == f"{base}/analyses"
    assert client.get("/api/runs/endpoints.json").get_json()["servers"] == [{"url": base}]
    assert client.get("/api/endpoints.json").get_json()["servers"] == [{"url": base}]
