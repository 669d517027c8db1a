"""g_variants filtered by their carriers' attributes, on the demo's case-level chr22 variants.

Which biosamples carry a variant comes from `tests/data/vcf/cineca_uk1_chr22_case_level_subset.tsv.gz`
(the upstream BFF `caseLevelData`, see its SOURCE.md); each carrier's sex from `uk1.tsv`. Demo
biosamples carry their individual's id (`HG00096`...), as the raw `biosamples.json` shows.
"""

from __future__ import annotations

import csv
import gzip
from typing import Any

import pytest

from tests.conftest import DATA_DIR, assert_valid

CASE_LEVEL = DATA_DIR / "vcf" / "cineca_uk1_chr22_case_level_subset.tsv.gz"
FEMALE = "NCIT:C16576"


def carriers_by_variant() -> list[tuple[dict[str, str], frozenset[str]]]:
    with gzip.open(CASE_LEVEL, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row, frozenset(filter(None, f"{row['heterozygous']},{row['homozygous']}".split(",")))) for row in rows]


def female_ids() -> frozenset[str]:
    with (DATA_DIR / "cineca_uk1_bff_ritools_v2" / "uk1.tsv").open(newline="") as handle:
        return frozenset(row["Subject id"] for row in csv.DictReader(handle, delimiter="\t") if row["Sex"] == "female")


VARIANTS = carriers_by_variant()[:10]
FEMALES = female_ids()


def sequence_query(row: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "assemblyId": "GRCh37",
        "referenceName": row["chrom"],
        "start": int(row["pos"]) - 1,
        "referenceBases": row["ref"],
        "alternateBases": row["alt"],
        "requestedGranularity": "count",
        **extra,
    }


def answer(client, path: str, query: dict[str, Any]) -> dict[str, Any]:
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def variant_id(client, row: dict[str, str]) -> str:
    document = answer(client, "/api/g_variants", sequence_query(row, requestedGranularity="record"))
    (record,) = document["response"]["resultSets"][0]["results"]
    return record["variantInternalId"]


def test_the_sample_has_variants_with_and_without_female_carriers():
    with_female = [bool(carriers & FEMALES) for _, carriers in VARIANTS]
    assert any(with_female) and not all(with_female)


@pytest.mark.parametrize(("row", "carriers"), VARIANTS, ids=[row["pos"] for row, _ in VARIANTS])
def test_a_variant_exists_for_women_only_if_a_woman_carries_it(client, row, carriers):
    document = answer(client, "/api/g_variants", sequence_query(row, filters=FEMALE))
    assert document["responseSummary"]["exists"] is bool(carriers & FEMALES)
    unfiltered = answer(client, "/api/g_variants", sequence_query(row))
    assert unfiltered["responseSummary"]["exists"] is True


def test_carrier_relations_are_filtered(client, validator):
    row, carriers = next((row, c) for row, c in VARIANTS if len(c & FEMALES) > 1 and c - FEMALES)
    identifier = variant_id(client, row)
    path = f"/api/g_variants/{identifier}/individuals"
    document = answer(client, path, {"filters": FEMALE, "requestedGranularity": "record", "limit": 100})
    assert_valid(validator, document)
    assert {record["id"] for record in document["response"]["resultSets"][0]["results"]} == carriers & FEMALES
    everyone = answer(client, path, {"requestedGranularity": "count"})
    assert everyone["responseSummary"]["numTotalResults"] == len(carriers)
    body = {"query": {"filters": [{"id": FEMALE, "scope": "individuals"}], "requestedGranularity": "count"}}
    biosamples = client.post(f"/api/g_variants/{identifier}/biosamples", json=body).get_json()
    assert biosamples["responseSummary"]["numTotalResults"] == len(carriers & FEMALES)


def test_one_variant_with_filters(client):
    row, _ = next((row, c) for row, c in VARIANTS if c and not c & FEMALES)
    identifier = variant_id(client, row)
    document = answer(client, f"/api/g_variants/{identifier}", {"filters": FEMALE, "requestedGranularity": "count"})
    assert document["responseSummary"]["exists"] is False  # known, but carried by men only
    assert answer(client, f"/api/g_variants/{identifier}", {"filters": "NCIT:C20197"})["responseSummary"]["exists"]
    assert client.get("/api/g_variants/GRCh37-22-1-A-T", query_string={"filters": FEMALE}).status_code == 404


def test_biosample_scoped_and_collection_scoped_filters(client):
    row, _ = VARIANTS[0]
    blood = {"filters": [{"id": "UBERON:0000178", "scope": "biosamples"}]}
    posted = client.post(
        "/api/g_variants",
        json={"query": {"requestParameters": _parameters(row), "requestedGranularity": "count", **blood}},
    )
    assert posted.get_json()["responseSummary"]["numTotalResults"] == 1  # every demo biosample is blood
    male_cohort = {
        "query": {"requestParameters": _parameters(row), "filters": [{"id": "NCIT:C20197", "scope": "cohorts"}]}
    }
    assert client.post("/api/g_variants", json=male_cohort).get_json()["responseSummary"]["exists"] is True
    female_cohort = {"query": {"requestParameters": _parameters(row), "filters": [{"id": FEMALE, "scope": "cohorts"}]}}
    assert client.post("/api/g_variants", json=female_cohort).get_json()["responseSummary"]["exists"] is False


def _parameters(row: dict[str, str]) -> dict[str, Any]:
    query = sequence_query(row)
    query.pop("requestedGranularity")
    return query


def test_filters_on_the_variants_own_fields_are_refused(client, validator):
    body = {
        "query": {
            "requestParameters": _parameters(VARIANTS[0][0]),
            "filters": [{"id": "SO:0001483", "scope": "g_variants"}],
        }
    }
    response = client.post("/api/g_variants", json=body)
    assert response.status_code == 400
    assert "request parameters" in response.get_json()["error"]["errorMessage"]
    assert_valid(validator, response.get_json())


def test_a_range_query_for_women_is_schema_valid_and_narrower(client, validator):
    query = {
        "assemblyId": "GRCh37",
        "referenceName": "22",
        "start": 16050000,
        "end": 16100000,
        "requestedGranularity": "record",
    }
    everyone = answer(client, "/api/g_variants", query)
    women = answer(client, "/api/g_variants", {**query, "filters": FEMALE})
    assert_valid(validator, women)
    assert 0 < women["responseSummary"]["numTotalResults"] < everyone["responseSummary"]["numTotalResults"]
    assert women["meta"]["receivedRequestSummary"]["filters"] == [FEMALE]
