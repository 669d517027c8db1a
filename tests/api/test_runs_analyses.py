"""Runs and analyses over HTTP: listing, lookup by id, 404, filters, relations and granularity.

The store holds the demo data plus runs and analyses loaded by the CLI (`EXPERIMENT_FILES`: CINECA UK1's
first 40 runs and analyses, EGA's synthetic dataset `test` with one of each). Every expectation is read
from those BFF files, from `uk1.tsv` (the upstream phenotype table: sex) and from the case-level table of
the Perl reference tool (which biosamples carry which variant), never from this beacon's answers.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from beacon import create_app
from beacon.cli import main
from beacon.demo import DEMO_DIR
from tests.conftest import (
    CINECA_DIR,
    DATA_DIR,
    DEMO_DATASET,
    EGA_BFF_DIR,
    EGA_DATASET,
    assert_valid,
    cineca_rows,
    make_settings,
)

MALE = "NCIT:C20197"
CASES = DATA_DIR / "vcf" / "cineca_uk1_chr22_case_level_subset.tsv.gz"


def bff(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [{key: value for key, value in record.items() if key != "_id"} for record in json.load(handle)]


RUNS = bff(CINECA_DIR / "runs.json") + bff(EGA_BFF_DIR / "runs.json")
ANALYSES = bff(CINECA_DIR / "analyses.json") + bff(EGA_BFF_DIR / "analyses.json")
RECORDS = {"runs": RUNS, "analyses": ANALYSES}
BIOSAMPLES = bff(DEMO_DIR / "biosamples.json")
MALE_IDS = frozenset(row["Subject id"] for row in cineca_rows("uk1.tsv") if row["Sex"] == "male")
OPEN_POLICY = "default_level: PUBLIC\nrare_alleles: {enabled: false}\n"
"""Everything public and every allele shown (these tests count the demo's rare alleles too)."""


def policy_client(tmp_path: Path, store_file: Path, policy: str) -> FlaskClient:
    path = tmp_path / "policy.yaml"
    path.write_text(policy, encoding="utf-8")
    return create_app(make_settings(store_file, access_file=path)).test_client()


@pytest.fixture(scope="module")
def client(experiments_store_file: Path, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """Every dataset PUBLIC: the functional tests see records."""
    return policy_client(tmp_path_factory.mktemp("policy"), experiments_store_file, OPEN_POLICY)


def get(client: FlaskClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api{path}", query_string={"requestedGranularity": "record", "limit": 0, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def post(client: FlaskClient, path: str, filters: list[dict[str, Any]], **query: Any) -> dict[str, Any]:
    body = {"query": {"filters": filters, "requestedGranularity": "record", "pagination": {"limit": 0}, **query}}
    response = client.post(f"/api{path}", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by_dataset(document: dict[str, Any]) -> dict[str, list[str]]:
    """Record ids per result set (sorted), result sets without records left out."""
    sets = document.get("response", {}).get("resultSets", [])
    return {s["id"]: sorted(r["id"] for r in s["results"]) for s in sets if s.get("results")}


def expected(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for record in records:
        grouped.setdefault(record["datasetId"], []).append(record["id"])
    return {dataset: sorted(ids) for dataset, ids in grouped.items()}


@pytest.mark.parametrize("path", ["runs", "analyses"])
def test_listing_returns_every_loaded_record_per_dataset(client, validator, path):
    document = get(client, f"/{path}")
    assert_valid(validator, document)
    assert by_dataset(document) == expected(RECORDS[path])
    assert set(expected(RECORDS[path])) == {DEMO_DATASET, EGA_DATASET}  # two datasets: not vacuous
    assert document["responseSummary"]["numTotalResults"] == len(RECORDS[path])
    results = {r["id"]: r for s in document["response"]["resultSets"] for r in s["results"]}
    assert results == {record["id"]: record for record in RECORDS[path]}  # the records as loaded


@pytest.mark.parametrize("path", ["runs", "analyses"])
def test_each_record_is_found_by_its_id_in_its_dataset(client, validator, path):
    for record in RECORDS[path]:
        document = get(client, f"/{path}/{record['id']}")
        assert_valid(validator, document)
        assert by_dataset(document) == {record["datasetId"]: [record["id"]]}
        (found,) = document["response"]["resultSets"][0]["results"]
        assert found == record


UNKNOWN = ["/runs/NOPE", "/analyses/NOPE", "/runs/NOPE/analyses", "/runs/NOPE/g_variants", "/analyses/NOPE/g_variants"]
UNKNOWN += ["/biosamples/NOPE/runs", "/biosamples/NOPE/analyses", "/individuals/NOPE/biosamples"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_ids_are_404(client, validator, path):
    response = client.get(f"/api{path}")
    assert response.status_code == 404
    assert_valid(validator, response.get_json())
    assert "NOPE" in response.get_json()["error"]["errorMessage"]


@pytest.mark.parametrize("path", ["runs", "analyses"])
def test_filters_on_individuals_select_their_runs_and_analyses(client, path):
    document = post(client, f"/{path}", [{"id": MALE, "scope": "individual"}])
    males = [record for record in RECORDS[path] if record["individualId"] in MALE_IDS]
    assert by_dataset(document) == expected(males)
    assert 0 < len(males) < len(RECORDS[path]) - 1


def test_filters_on_biosamples_select_their_analyses(client):
    # Biosamples HG00100 to HG00109, by an alphanumeric filter on the biosamples' ids.
    document = post(client, "/analyses", [{"id": "id", "operator": "=", "value": "HG0010%", "scope": "biosample"}])
    chosen = [record for record in ANALYSES if record["biosampleId"].startswith("HG0010")]
    assert by_dataset(document) == expected(chosen)
    assert 1 < len(chosen) < 40


def test_filters_on_the_runs_own_fields(client):
    strategies = Counter(record["libraryStrategy"] for record in RUNS)
    assert len(strategies) == 2  # the EGA run differs from the CINECA ones
    for strategy in strategies:
        document = get(client, "/runs", filters=f"libraryStrategy={strategy}")
        assert by_dataset(document) == expected([r for r in RUNS if r["libraryStrategy"] == strategy])
    platform = RUNS[0]["platformModel"]
    document = get(client, "/runs", filters=platform["id"])  # an ontology term of the runs
    assert by_dataset(document) == expected([r for r in RUNS if r["platformModel"]["id"] == platform["id"]])
    document = get(client, "/runs", filters=f"platformModel.label={platform['label']}")
    assert by_dataset(document) == expected([r for r in RUNS if r["platformModel"] == platform])


def test_a_filter_on_a_dataset_selects_the_runs_of_that_dataset(client):
    datasets = bff(EGA_BFF_DIR / "datasets.json") + bff(DEMO_DIR / "datasets.json")
    term = "EFO:0001645"  # coronary artery disease, a data use modifier of the EGA dataset
    holding = {dataset["id"] for dataset in datasets if term in json.dumps(dataset)}
    assert holding == {EGA_DATASET}
    document = post(client, "/runs", [{"id": term, "scope": "dataset"}])
    assert by_dataset(document) == expected([record for record in RUNS if record["datasetId"] in holding])


def test_a_filter_on_runs_selects_the_datasets_holding_them(client):
    for strategy in {record["libraryStrategy"] for record in RUNS}:
        wgs = {"id": "libraryStrategy", "operator": "=", "value": strategy, "scope": "run"}
        document = post(client, "/datasets", [wgs])
        holding = {record["datasetId"] for record in RUNS if record["libraryStrategy"] == strategy}
        assert {dataset["id"] for dataset in document["response"]["collections"]} == holding
        assert len(holding) == 1


def test_runs_list_their_analyses(client, validator):
    for run in RUNS:
        document = get(client, f"/runs/{run['id']}/analyses")
        assert_valid(validator, document)
        assert by_dataset(document) == expected([a for a in ANALYSES if a["runId"] == run["id"]])
    # The EGA analysis names a run that was not loaded: its run has no analysis.
    assert not [a for a in ANALYSES if a["runId"] == RUNS[-1]["id"]]


def test_biosamples_list_their_runs_and_analyses_and_individuals_their_biosamples(client):
    for biosample_id in ("HG00096", "HG00140", "HG00141"):  # HG00141 has no run in the test data
        for path, records in RECORDS.items():
            document = get(client, f"/biosamples/{biosample_id}/{path}")
            assert by_dataset(document) == expected([r for r in records if r["biosampleId"] == biosample_id])
        document = get(client, f"/individuals/{biosample_id}/biosamples")
        assert by_dataset(document) == expected([b for b in BIOSAMPLES if b["individualId"] == biosample_id])


def test_relations_apply_filters(client):
    run = RUNS[0]
    document = get(
        client, f"/biosamples/{run['biosampleId']}/runs", filters=f"libraryStrategy={run['libraryStrategy']}"
    )
    assert by_dataset(document) == {run["datasetId"]: [run["id"]]}
    document = get(client, f"/biosamples/{run['biosampleId']}/runs", filters="libraryStrategy=none of them")
    assert by_dataset(document) == {}


def case_level_rows() -> list[tuple[dict[str, Any], set[str]]]:
    with gzip.open(CASES, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row, {s for s in f"{row['heterozygous']},{row['homozygous']}".split(",") if s}) for row in rows]


def position(row: dict[str, Any]) -> dict[str, Any]:
    start = int(row["pos"]) - 1
    return {"referenceName": "22", "start": start, "referenceBases": row["ref"], "alternateBases": row["alt"]}


def test_the_variants_of_a_record_are_those_its_biosample_carries(client, validator):
    """/runs, /analyses, /biosamples and /individuals {id}/g_variants against the reference tool's carriers."""
    run_of = {run["biosampleId"]: run for run in RUNS if run["datasetId"] == DEMO_DATASET}
    analysis_of = {analysis["biosampleId"]: analysis for analysis in ANALYSES if analysis["datasetId"] == DEMO_DATASET}
    rows = [(row, carriers & set(run_of)) for row, carriers in case_level_rows()]
    rows = [(row, carriers) for row, carriers in rows if carriers][:6]
    assert len(rows) == 6
    for row, carriers in rows:
        carrier = sorted(carriers)[0]
        other = next(biosample for biosample in sorted(run_of) if biosample not in carriers)
        for biosample, exists in ((carrier, True), (other, False)):
            paths = [
                f"/runs/{run_of[biosample]['id']}/g_variants",
                f"/analyses/{analysis_of[biosample]['id']}/g_variants",
                f"/biosamples/{biosample}/g_variants",
                f"/individuals/{biosample}/g_variants",  # each CINECA individual has its one biosample
            ]
            for path in paths:
                document = get(client, path, **position(row))
                assert document["responseSummary"]["exists"] is exists, (path, row)
                assert_valid(validator, document)


def test_a_record_without_case_level_data_relates_to_no_variant(experiments_store_file, tmp_path):
    # The EGA synthetic VCF (GRCh38) into the EGA dataset, without --case-level: two assemblies are served.
    store = tmp_path / "beacon.sqlite"
    shutil.copy(experiments_store_file, store)
    vcf = DATA_DIR / "vcf" / "synthetic_usecases_4beacon_testingV4.vcf.gz"
    arguments = [
        "load",
        "vcf",
        str(vcf),
        "--dataset",
        EGA_DATASET,
        "--assembly",
        "GRCh38",
        "--store",
        f"sqlite:///{store}",
    ]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    client = policy_client(tmp_path, store, "default_level: PUBLIC\n")
    (run,) = [record for record in RUNS if record["datasetId"] == EGA_DATASET]
    document = get(client, f"/runs/{run['id']}/g_variants")
    assert document["responseSummary"]["exists"] is False
    assert any("case-level" in warning for warning in document["info"]["warnings"])
    # Without parameters, every variant of every assembly: the dataset's own g_variants do exist.
    assert get(client, f"/datasets/{EGA_DATASET}/g_variants")["responseSummary"]["exists"] is True
    assert get(client, f"/runs/{RUNS[0]['id']}/g_variants")["responseSummary"]["exists"] is True


def test_granularity_follows_the_access_policy(experiments_store_file, tmp_path, validator):
    policy = f"default_level: CONTROLLED\ndatasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n"
    client = policy_client(tmp_path, experiments_store_file, policy)
    for path, records in RECORDS.items():
        document = get(client, f"/{path}")
        assert_valid(validator, document)
        # Records of the PUBLIC dataset only; the CONTROLLED one answers anonymous callers yes or no.
        assert by_dataset(document) == expected([r for r in records if r["datasetId"] == DEMO_DATASET])
        (ega,) = [record for record in records if record["datasetId"] == EGA_DATASET]
        document = get(client, f"/{path}/{ega['id']}")
        assert_valid(validator, document)
        assert document["responseSummary"]["exists"] is True
        assert by_dataset(document) == {}
    hidden = f"{policy}  {EGA_DATASET}: {{level: CONTROLLED, granularity: {{anonymous: none}}}}\n"
    client = policy_client(tmp_path, experiments_store_file, hidden)
    for path, records in RECORDS.items():
        (ega,) = [record for record in records if record["datasetId"] == EGA_DATASET]
        assert client.get(f"/api/{path}/{ega['id']}").status_code == 404
        assert client.get(f"/api/{path}/{ega['id']}/g_variants").status_code == 404
        assert get(client, f"/{path}")["responseSummary"]["numTotalResults"] == len(records) - 1


def test_runs_can_require_filters(experiments_store_file):
    client = create_app(make_settings(experiments_store_file, filters_required=("runs",))).test_client()
    entry_types = client.get("/api/entry_types").get_json()["response"]["entryTypes"]
    assert entry_types["run"]["nonFilteredQueriesAllowed"] is False
    assert entry_types["analysis"]["nonFilteredQueriesAllowed"] is True
    assert client.get("/api/runs").status_code == 400
    assert client.get(f"/api/runs/{RUNS[0]['id']}").status_code == 200
    assert client.get("/api/runs", query_string={"filters": RUNS[0]["platformModel"]["id"]}).status_code == 200
