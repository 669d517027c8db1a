"""testMode: the demo's synthetic test dataset answers requests in test mode only, and the BSC network
validator's walk over /map (its exact body, then each singleEntryUrl filled from the first record's id)
succeeds.

Expected answers come from the synthetic files themselves (`beacon/demo/*.synthetic-test.json`, the
VCF read with cyvcf2) and from the demo files, not from the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import cyvcf2
import pytest

from beacon import create_app
from beacon.demo import DEMO_DIR, TEST_DATASET, TEST_VCF
from tests.conftest import DEMO_DATASET, assert_valid, make_settings

BASE = "http://beacon.test"
# The body the neat validator POSTs to every rootUrl of the map (NETWORK-CLIENTS.md section 2).
VALIDATOR_BODY = {
    "meta": {"apiVersion": "v2.2.0"},
    "query": {"testMode": True, "requestedGranularity": "record", "pagination": {"skip": 0, "limit": 1}},
}


def synthetic(entity: str) -> list[dict[str, Any]]:
    return json.loads((DEMO_DIR / f"{entity}.synthetic-test.json").read_text(encoding="utf-8"))


def synthetic_variants() -> list[tuple[int, str, str, frozenset[str]]]:
    """(VCF POS, REF, ALT, carrying samples) of every allele of the synthetic VCF."""
    vcf = cyvcf2.VCF(str(TEST_VCF))
    found = []
    for record in vcf:
        (alt,) = record.ALT
        carried = frozenset(s for s, kind in zip(vcf.samples, record.gt_types, strict=True) if kind in (1, 3))
        found.append((record.POS, record.REF, alt, carried))
    return found


EXPECTED = {
    "dataset": len(synthetic("datasets")),
    "cohort": len(synthetic("cohorts")),
    "individual": len(synthetic("individuals")),
    "biosample": len(synthetic("biosamples")),
    "genomicVariant": len(synthetic_variants()),
    "run": len(synthetic("runs")),
    "analysis": len(synthetic("analyses")),
}
CORE = {"dataset", "cohort", "individual", "biosample", "genomicVariant"}


def path_of(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


def post(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()


def records_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    response = document.get("response", {})
    if "collections" in response:
        return response["collections"]
    return [record for result_set in response["resultSets"] for record in result_set["results"]]


def test_the_validator_walks_every_endpoint_set_of_the_map(client, validator):
    endpoint_sets = client.get("/api/map").get_json()["response"]["endpointSets"]
    assert set(endpoint_sets) >= CORE and set(endpoint_sets) <= set(EXPECTED)
    for entry_type, endpoint_set in endpoint_sets.items():
        document = post(client, path_of(endpoint_set["rootUrl"]), VALIDATOR_BODY)
        assert_valid(validator, document)
        assert document["meta"]["testMode"] is True
        assert document["responseSummary"]["numTotalResults"] == EXPECTED[entry_type], entry_type
        (first,) = records_of(document)  # limit 1
        for result_set in document.get("response", {}).get("resultSets", []):
            assert result_set["id"] == TEST_DATASET
        # The validator fills {id} (the template's name, else the record's `id`) and POSTs; GET too.
        single = path_of(endpoint_set["singleEntryUrl"].replace("{id}", first["id"]))
        for response in (
            client.get(single, query_string={"testMode": "true", "requestedGranularity": "record"}),
            client.post(single, json=VALIDATOR_BODY),
        ):
            assert response.status_code == 200, (single, response.get_json())
            assert_valid(validator, response.get_json())
            assert [record["id"] for record in records_of(response.get_json())] == [first["id"]]
        for endpoint in endpoint_set.get("endpoints", {}).values():
            related = post(client, path_of(endpoint["url"].replace("{id}", first["id"])), VALIDATOR_BODY)
            assert_valid(validator, related)


def test_variant_records_carry_id_equal_to_the_internal_id(client):
    document = post(
        client, "/api/g_variants", {**VALIDATOR_BODY, "query": {**VALIDATOR_BODY["query"], "pagination": {"limit": 10}}}
    )
    records = records_of(document)
    expected = {f"GRCh37-22-{pos}-{ref}-{alt}" for pos, ref, alt, _ in synthetic_variants()}
    assert {record["id"] for record in records} == {record["variantInternalId"] for record in records} == expected


@pytest.mark.parametrize(
    ("path", "test_mode_total", "normal_total"),
    [
        ("/api/datasets", EXPECTED["dataset"], 1),
        ("/api/cohorts", EXPECTED["cohort"], 1),
        ("/api/individuals", EXPECTED["individual"], len(json.loads((DEMO_DIR / "individuals.json").read_text()))),
        ("/api/biosamples", EXPECTED["biosample"], len(json.loads((DEMO_DIR / "biosamples.json").read_text()))),
    ],
)
def test_each_mode_counts_only_its_own_datasets(client, path, test_mode_total, normal_total):
    for mode, total in (("true", test_mode_total), ("false", normal_total)):
        document = client.get(path, query_string={"testMode": mode, "requestedGranularity": "count"}).get_json()
        assert document["responseSummary"]["numTotalResults"] == total, mode


def test_test_variants_answer_in_test_mode_only(client):
    pos, ref, alt, _ = synthetic_variants()[0]
    query = {"referenceName": "22", "start": pos - 1, "referenceBases": ref, "alternateBases": alt}
    in_test = client.get(
        "/api/g_variants", query_string={**query, "testMode": "true", "requestedGranularity": "record"}
    )
    assert [s["id"] for s in in_test.get_json()["response"]["resultSets"]] == [TEST_DATASET]
    normal = client.get("/api/g_variants", query_string={**query, "requestedGranularity": "record"})
    assert [s["id"] for s in normal.get_json()["response"]["resultSets"]] == [DEMO_DATASET]  # the same allele


def test_carriers_in_test_mode(client, validator):
    individual_of = {record["id"]: record["individualId"] for record in synthetic("biosamples")}
    for pos, ref, alt, carried in synthetic_variants():
        body = {
            "query": {
                "testMode": True,
                "requestedGranularity": "record",
                "requestParameters": {
                    "referenceName": "22",
                    "start": [pos - 1],
                    "referenceBases": ref,
                    "alternateBases": alt,
                },
            }
        }
        document = post(client, "/api/individuals", body)
        assert_valid(validator, document)
        assert {record["id"] for record in records_of(document)} == {individual_of[s] for s in carried}


@pytest.mark.parametrize(
    "path",
    [
        f"/api/datasets/{TEST_DATASET}",
        f"/api/datasets/{TEST_DATASET}/individuals",
        f"/api/datasets/{TEST_DATASET}/filtering_terms",
        f"/api/datasets/{TEST_DATASET}/g_variants",
    ],
)
def test_outside_test_mode_a_test_dataset_is_an_unknown_one(client, path):
    hidden = client.get(path)
    unknown = client.get(path.replace(TEST_DATASET, "synthetic-tesd"))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_data(as_text=True).replace(TEST_DATASET, "X") == unknown.get_data(as_text=True).replace(
        "synthetic-tesd", "X"
    )
    assert client.get(path, query_string={"testMode": "true"}).status_code == 200
    assert client.get(f"/api/datasets/{DEMO_DATASET}", query_string={"testMode": "true"}).status_code == 404


def test_records_of_test_datasets_are_404s_outside_test_mode(client):
    individual = synthetic("individuals")[0]["id"]
    assert client.get(f"/api/individuals/{individual}").status_code == 404
    assert client.get(f"/api/individuals/{individual}", query_string={"testMode": "true"}).status_code == 200


def ontology_terms(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["id"]} if set(node) <= {"id", "label"} and ":" in str(node.get("id", "")) else set()
        return own.union(*(ontology_terms(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(ontology_terms(item) for item in node))
    return set()


def test_filtering_terms_follow_the_mode(client):
    in_test = client.get("/api/filtering_terms", query_string={"testMode": "true"}).get_json()["response"]
    normal = client.get("/api/filtering_terms").get_json()["response"]
    records = [
        record for entity in ("datasets", "cohorts", "individuals", "biosamples") for record in synthetic(entity)
    ]
    ontology = {term["id"] for term in in_test["filteringTerms"] if term["type"] == "ontology"}
    assert ontology == ontology_terms(records)
    assert "info.testDataset" in {term["id"] for term in in_test["filteringTerms"]}
    assert "info.testDataset" not in {term["id"] for term in normal["filteringTerms"]}


def test_a_policy_can_mark_a_test_dataset(demo_store_file, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"default_level: PUBLIC\ndatasets:\n  {DEMO_DATASET}: {{level: PUBLIC, test_dataset: true}}\n")
    client = create_app(make_settings(demo_store_file, access_file=policy)).test_client()
    normal = client.get("/api/individuals", query_string={"requestedGranularity": "count"}).get_json()
    assert normal["responseSummary"] == {"exists": False, "numTotalResults": 0}  # both datasets are test datasets
    in_test = client.get("/api/individuals", query_string={"requestedGranularity": "count", "testMode": "true"})
    demo = len(json.loads((DEMO_DIR / "individuals.json").read_text()))
    assert in_test.get_json()["responseSummary"]["numTotalResults"] == demo + EXPECTED["individual"]
