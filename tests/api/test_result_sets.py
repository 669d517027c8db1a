"""One result set per visible dataset at every granularity, selected by includeResultsetResponses.

Two datasets: the CINECA demo (2504 individuals, chr22 variants) and SMALL (two women, no variants).
Counts come from the demo's own records and truth table, never from the code under test. The summary
rule checked here is the one `beacon.query.responses` documents: `exists` is any set's `exists`, and
`numTotalResults` adds the sets' counts, a boolean-level set with matches counting as 1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from beacon import create_app
from beacon.schemas import default_validator
from beacon.store.sqlite import SqliteStore
from loaders.metadata import load_metadata
from tests.conftest import DEMO_DATASET, make_settings

SMALL = "SMALL"
MALE, FEMALE = "NCIT:C20197", "NCIT:C16576"
# tests/data/vcf/cineca_uk1_chr22_population_allele_counts.tsv: 22 16050115 G>A, carried (gt_AC 31).
VARIANT = {"referenceName": "22", "start": 16050114, "referenceBases": "G", "alternateBases": "A"}
GRANULARITIES = ("boolean", "count", "record")
KEYS = {
    "boolean": {"beaconId", "id", "setType", "exists"},
    "count": {"beaconId", "id", "setType", "exists", "resultsCount"},
    "record": {"beaconId", "id", "setType", "exists", "resultsCount", "results"},
}
SELECTED = {"HIT": {DEMO_DATASET}, "MISS": {SMALL}, "ALL": {DEMO_DATASET, SMALL}, "NONE": set()}


@pytest.fixture(scope="module")
def two_datasets_file(demo_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store plus SMALL: two female individuals, no variants."""
    directory = tmp_path_factory.mktemp("two-datasets")
    path = directory / "beacon.sqlite"
    shutil.copy(demo_store_file, path)
    female = {"id": FEMALE, "label": "female"}
    files = {
        "datasets": [{"id": SMALL, "name": "two women"}],
        "individuals": [{"id": f"S{n}", "sex": female, "datasetId": SMALL} for n in (1, 2)],
    }
    for name, records in files.items():
        (directory / f"{name}.json").write_text(json.dumps(records), encoding="utf-8")
    store = SqliteStore(path)
    try:
        load_metadata(store, [directory / "datasets.json", directory / "individuals.json"], default_validator())
    finally:
        store.close()
    return path


def app_with_policy(store_file: Path, folder: Path, policy: str) -> Flask:
    """An app over the two datasets with an access policy text."""
    access_file = folder / "policy.yaml"
    access_file.write_text(policy, encoding="utf-8")
    return create_app(make_settings(store_file, access_file=access_file))


@pytest.fixture(scope="module")
def public(two_datasets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """Both datasets PUBLIC: every caller may see records."""
    app = app_with_policy(two_datasets_file, tmp_path_factory.mktemp("public"), "default_level: PUBLIC\n")
    return app.test_client()


@pytest.fixture(scope="module")
def mixed(two_datasets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """The demo PUBLIC, SMALL CONTROLLED: anonymous callers get records of one and booleans of the other."""
    policy = f"default_level: CONTROLLED\ndatasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n"
    return app_with_policy(two_datasets_file, tmp_path_factory.mktemp("mixed"), policy).test_client()


@pytest.fixture(scope="module")
def demo_males(demo_individuals: list[dict[str, Any]]) -> int:
    """Men among the demo's individuals, counted from the records."""
    return sum(1 for record in demo_individuals if record.get("sex", {}).get("id") == MALE)


@pytest.fixture(scope="module")
def demo_females(demo_individuals: list[dict[str, Any]]) -> int:
    """Women among the demo's individuals, counted from the records."""
    return sum(1 for record in demo_individuals if record.get("sex", {}).get("id") == FEMALE)


def get(client: FlaskClient, path: str, **query: Any) -> dict[str, Any]:
    response = client.get(f"/api{path}", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def sets_by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result_set["id"]: result_set for result_set in document["response"]["resultSets"]}


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_one_result_set_per_dataset_at_every_granularity(public, demo_males, granularity):
    document = get(
        public, "/individuals", filters=MALE, requestedGranularity=granularity, includeResultsetResponses="ALL"
    )
    assert document["meta"]["returnedGranularity"] == granularity
    sets = sets_by_id(document)
    assert set(sets) == {DEMO_DATASET, SMALL}
    for result_set in sets.values():
        assert set(result_set) == KEYS[granularity]
        assert result_set["setType"] == "dataset"
    assert (sets[DEMO_DATASET]["exists"], sets[SMALL]["exists"]) == (True, False)
    if granularity != "boolean":
        assert (sets[DEMO_DATASET]["resultsCount"], sets[SMALL]["resultsCount"]) == (demo_males, 0)
    if granularity == "record":
        assert len(sets[DEMO_DATASET]["results"]) == 10 and sets[SMALL]["results"] == []
        assert {record["sex"]["id"] for record in sets[DEMO_DATASET]["results"]} == {MALE}


@pytest.mark.parametrize("mode", SELECTED)
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_include_resultset_responses_selects_the_sets_but_not_the_summary(public, demo_males, granularity, mode):
    document = get(
        public, "/individuals", filters=MALE, requestedGranularity=granularity, includeResultsetResponses=mode
    )
    assert set(sets_by_id(document)) == SELECTED[mode]
    expected_summary = {"exists": True} | ({} if granularity == "boolean" else {"numTotalResults": demo_males})
    assert document["responseSummary"] == expected_summary


@pytest.mark.parametrize("mode", SELECTED)
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_g_variants_answer_per_dataset_at_every_granularity(public, granularity, mode):
    document = get(public, "/g_variants", requestedGranularity=granularity, includeResultsetResponses=mode, **VARIANT)
    sets = sets_by_id(document)
    assert set(sets) == SELECTED[mode]
    for dataset_id, result_set in sets.items():
        assert set(result_set) == KEYS[granularity]
        if granularity != "boolean":
            assert result_set["resultsCount"] == (1 if dataset_id == DEMO_DATASET else 0)
    assert document["responseSummary"]["exists"] is True
    assert document["responseSummary"].get("numTotalResults") == (None if granularity == "boolean" else 1)


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_one_record_and_a_related_endpoint_answer_with_result_sets_too(public, granularity):
    one = get(public, "/individuals/HG00096", requestedGranularity=granularity, includeResultsetResponses="ALL")
    assert {key: value["exists"] for key, value in sets_by_id(one).items()} == {DEMO_DATASET: True, SMALL: False}
    related = get(public, f"/datasets/{SMALL}/individuals", requestedGranularity=granularity)
    (result_set,) = related["response"]["resultSets"]
    assert set(result_set) == KEYS[granularity] and result_set["id"] == SMALL
    assert result_set.get("resultsCount", 2) == 2


def test_summary_agrees_with_the_sets_when_only_a_boolean_level_dataset_matches(mixed):
    """Count asked, anonymous: SMALL (boolean only) has S1, the demo (record) has not; total 1, imprecise."""
    document = get(mixed, "/individuals/S1", requestedGranularity="count", includeResultsetResponses="ALL")
    assert document["meta"]["returnedGranularity"] == "count"
    assert document["responseSummary"] == {
        "exists": True,
        "numTotalResults": 1,
        "countPrecision": "imprecise",
        "countAdjustedTo": ["boolean-level datasets counted as 1"],
    }
    sets = sets_by_id(document)
    assert sets[SMALL] == {
        "beaconId": document["meta"]["beaconId"],
        "id": SMALL,
        "setType": "dataset",
        "exists": True,
        "info": {"returnedGranularity": "boolean"},
    }
    assert sets[DEMO_DATASET] == {
        "beaconId": document["meta"]["beaconId"],
        "id": DEMO_DATASET,
        "setType": "dataset",
        "exists": False,
        "resultsCount": 0,
    }


def test_a_boolean_level_dataset_adds_one_to_the_total_not_its_count(mixed, demo_females):
    """Women: SMALL has two, but as a boolean-level dataset it adds 1; the demo's count is exact."""
    document = get(mixed, "/individuals", filters=FEMALE, requestedGranularity="count", includeResultsetResponses="ALL")
    sets = sets_by_id(document)
    assert sets[DEMO_DATASET]["resultsCount"] == demo_females
    assert "resultsCount" not in sets[SMALL] and sets[SMALL]["exists"] is True
    assert document["responseSummary"]["numTotalResults"] == demo_females + 1
    assert document["responseSummary"]["countPrecision"] == "imprecise"


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize(
    ("path", "filters"), [("/individuals/S1", ()), ("/individuals/HG00096", ()), ("/individuals", (FEMALE,))]
)
def test_a_network_hit_rule_reads_the_same_answer_as_the_sets(mixed, granularity, path, filters):
    """BSC network HIT keeps a member when `exists` or `numTotalResults > 0`: both must say the same."""
    document = get(mixed, path, requestedGranularity=granularity, filters=",".join(filters))
    summary, sets = document["responseSummary"], document["response"]["resultSets"]
    assert summary["exists"] is any(result_set["exists"] for result_set in sets)  # HIT: the sets with matches
    if "numTotalResults" in summary:
        assert (summary["numTotalResults"] > 0) is summary["exists"]


def test_the_gdi_portal_finds_each_dataset_with_its_count(public, demo_males):
    """The portal's body (apiVersion "2.0", HIT, record, limit 1) and its reading: setType, id, resultsCount > 0."""
    body = {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "filters": [{"id": MALE, "scope": "individual"}],
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "testMode": False,
            "pagination": {"skip": 0, "limit": 1},
        },
    }
    document = public.post("/api/individuals", json=body).get_json()
    found = {
        result_set["id"]: result_set["resultsCount"]
        for result_set in document["response"]["resultSets"]
        if result_set["setType"] == "dataset" and result_set["id"] and result_set.get("resultsCount", 0) > 0
    }
    assert found == {DEMO_DATASET: demo_males}
