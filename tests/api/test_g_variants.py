"""g_variants over HTTP on the demo data (CINECA UK1 chr22, GRCh37, 2504 genotyped samples).

Expected answers come from tables computed independently of this code (bcftools-checked counts in
`cineca_uk1_chr22_population_allele_counts.tsv`, the Perl reference tool's case-level output in
`cineca_uk1_chr22_case_level_subset.tsv.gz`), never from the code under test.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import random
from typing import Any

import pytest

from beacon.demo import DEMO_VCF
from tests.allele_counts import info_ends
from tests.conftest import DATA_DIR, DEMO_DATASET, assert_valid, response_errors

TRUTH = DATA_DIR / "vcf" / "cineca_uk1_chr22_population_allele_counts.tsv"
CASES = DATA_DIR / "vcf" / "cineca_uk1_chr22_case_level_subset.tsv.gz"
SYMBOLIC = ("<",)


def truth_rows() -> list[dict[str, str]]:
    with TRUTH.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def loaded_rows() -> list[dict[str, str]]:
    """Rows the loader keeps: alleles carried by at least one genotyped sample (symbolic <CNn> too)."""
    return [r for r in truth_rows() if int(r["gt_AC"]) > 0]


def sequence_rows() -> list[dict[str, str]]:
    """Loaded rows whose alleles are bases (a sequence query can name them)."""
    return [r for r in loaded_rows() if not r["alt"].startswith(SYMBOLIC)]


@functools.cache
def demo_ends() -> dict[int, int]:
    return info_ends(DEMO_VCF)


def end_of(row: dict[str, str]) -> int:
    """A row's 0-based end: REF's end, or a symbolic allele's INFO END read from the VCF text."""
    if row["alt"].startswith(SYMBOLIC):
        return demo_ends()[int(row["pos"])]
    return int(row["start0"]) + len(row["ref"])


def get(client: Any, path: str = "/api/g_variants", **parameters: Any) -> dict[str, Any]:
    response = client.get(path, query_string=parameters)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def frequencies(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (result_set,) = document["response"]["resultSets"]
    (record,) = result_set["results"]
    (block,) = record["frequencyInPopulations"]
    return {item["population"]: item for item in block["frequencies"]}


SAMPLE = random.Random(22).sample(sequence_rows(), 25)


@pytest.mark.parametrize("row", SAMPLE, ids=lambda r: f"{r['pos']}{r['ref']}>{r['alt']}")
def test_allele_frequencies_per_population_match_bcftools(client, validator, row):
    document = get(
        client,
        referenceName="22",
        start=row["start0"],
        referenceBases=row["ref"],
        alternateBases=row["alt"],
        requestedGranularity="record",
    )
    assert_valid(validator, document)
    by_population = frequencies(document)
    assert by_population["Total"]["alleleCount"] == int(row["gt_AC"])
    assert by_population["Total"]["alleleNumber"] == int(row["gt_AN"])
    # The demo publishes the 1000 Genomes populations by country (beacon/demo/populations.json); CEU has none.
    for population, country in (("FIN", "FI"), ("GBR", "GB"), ("IBS", "ES"), ("TSI", "IT")):
        assert by_population[country]["alleleCount"] == int(row[f"AC_{population}"])
        assert by_population[country]["alleleNumber"] == int(row[f"AN_{population}"])
        assert by_population[country]["alleleFrequency"] == pytest.approx(float(row[f"AF_{population}"]), abs=1e-5)
    assert "CEU" not in by_population


def test_an_allele_nobody_carries_is_not_a_hit(client):
    absent = next(r for r in truth_rows() if int(r["gt_AC"]) == 0 and not r["alt"].startswith(SYMBOLIC))
    document = get(
        client,
        referenceName="22",
        start=absent["start0"],
        referenceBases=absent["ref"],
        alternateBases=absent["alt"],
        requestedGranularity="count",
    )
    assert document["responseSummary"] == {"exists": False, "numTotalResults": 0}


def test_start_given_as_vcf_pos_is_an_off_by_one_miss(client):
    rows = sequence_rows()
    starts = {int(r["start0"]) for r in rows}
    row = next(r for r in rows if int(r["pos"]) not in starts)
    document = get(client, referenceName="22", start=row["pos"], referenceBases=row["ref"], alternateBases=row["alt"])
    assert document["responseSummary"]["exists"] is False


@pytest.mark.parametrize("contig", ["22", "chr22", "NC_000022.10", "refseq:NC_000022.10"])
@pytest.mark.parametrize("assembly", [None, "GRCh37", "hg19", "b37", "GRCh37.p13"])
def test_contig_and_assembly_spellings_find_the_same_variant(client, contig, assembly):
    parameters = {"referenceName": contig, "start": "16050074", "referenceBases": "A", "alternateBases": "G"}
    if assembly:
        parameters["assemblyId"] = assembly
    assert get(client, **parameters, requestedGranularity="count")["responseSummary"]["numTotalResults"] == 1


def test_other_assembly_finds_nothing_and_mismatched_accession_is_a_400(client):
    document = get(client, referenceName="22", start="16050074", alternateBases="G", assemblyId="GRCh38")
    assert document["responseSummary"]["exists"] is False
    response = client.get("/api/g_variants?referenceName=NC_000022.11&start=16050074&alternateBases=G&assemblyId=hg19")
    assert response.status_code == 400


def overlap_count(start: int, end: int) -> int:
    return sum(1 for r in loaded_rows() if int(r["start0"]) < end and end_of(r) > start)


@pytest.mark.parametrize(("start", "end"), [(16050000, 16100000), (16_200_000, 16_300_000), (17_000_000, 17_600_000)])
def test_range_counts_match_the_truth_table(client, start, end):
    document = get(client, referenceName="22", start=start, end=end, requestedGranularity="count")
    assert document["responseSummary"]["numTotalResults"] == overlap_count(start, end)


def test_range_includes_a_deletion_starting_before_the_range(client):
    deletions = [r for r in sequence_rows() if len(r["ref"]) > 2 and len(r["alt"]) == 1]
    row = deletions[0]
    inside = int(row["start0"]) + 2  # starts after the deletion's start, before its end
    document = get(client, referenceName="22", start=inside, end=inside + 1, requestedGranularity="record")
    found = {r["variantInternalId"] for s in document["response"]["resultSets"] for r in s["results"]}
    assert f"GRCh37-22-{row['pos']}-{row['ref']}-{row['alt']}" in found
    assert document["responseSummary"]["numTotalResults"] == overlap_count(inside, inside + 1)


def test_bracket_query_counts(client):
    s0, s1, e0, e1 = 16_100_000, 16_200_000, 16_100_000, 16_150_000
    expected = sum(1 for r in loaded_rows() if s0 <= int(r["start0"]) < s1 and e0 <= end_of(r) < e1)
    document = get(client, referenceName="22", start=f"{s0},{s1}", end=f"{e0},{e1}", requestedGranularity="count")
    assert document["responseSummary"]["numTotalResults"] == expected > 0


def test_repeated_start_and_end_form_a_bracket(client):
    repeated = client.get(
        "/api/g_variants?referenceName=22&start=16100000&start=16200000&end=16100000&end=16150000"
        "&requestedGranularity=count"
    ).get_json()
    joined = get(
        client, referenceName="22", start="16100000,16200000", end="16100000,16150000", requestedGranularity="count"
    )
    assert repeated["responseSummary"] == joined["responseSummary"]


def test_variant_type_narrows_a_range(client):
    indels = sum(1 for r in sequence_rows() if len(r["ref"]) != len(r["alt"]))
    document = get(
        client, referenceName="22", start=0, end=20_000_000, variantType="INDEL", requestedGranularity="count"
    )
    assert document["responseSummary"]["numTotalResults"] == indels


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
def test_post_equals_get_and_validates(client, validator, granularity):
    parameters = {"referenceName": "22", "start": 16050000, "end": 16060000}
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {"requestParameters": parameters, "requestedGranularity": granularity},
    }
    posted = client.post("/api/g_variants", data=json.dumps(body), content_type="application/json").get_json()
    got = get(client, **parameters, requestedGranularity=granularity)
    assert_valid(validator, posted)
    assert posted["responseSummary"] == got["responseSummary"]
    assert posted["responseSummary"].get("numTotalResults", 1) > 0


def test_post_coerces_numeric_strings(client):
    body = {
        "meta": {"apiVersion": "v2.1.1"},
        "query": {
            "requestParameters": {"referenceName": "22", "start": ["16050074"], "alternateBases": "G"},
            "requestedGranularity": "count",
        },
    }
    document = client.post("/api/g_variants", json=body).get_json()
    assert document["responseSummary"]["numTotalResults"] == 1


def test_one_variant_by_id_and_dataset_scope(client, validator):
    document = get(client, "/api/g_variants/GRCh37-22-16050075-A-G", requestedGranularity="record")
    assert_valid(validator, document)
    assert document["response"]["resultSets"][0]["results"][0]["variantInternalId"] == "GRCh37-22-16050075-A-G"
    scoped = get(
        client,
        f"/api/datasets/{DEMO_DATASET}/g_variants",
        referenceName="22",
        start=0,
        end=16060000,
        requestedGranularity="count",
    )
    assert scoped["responseSummary"]["numTotalResults"] == overlap_count(0, 16060000)
    assert client.get("/api/g_variants/GRCh37-22-1-A-G").status_code == 404


@pytest.mark.parametrize(
    "variant_id",
    [
        "GRCh37-22-16050075-A-T",  # the stored variant's position, another ALT
        "GRCh37-22-16050076-A-G",  # its alleles, one base on
        "GRCh37-X-16050075-A-G",  # another chromosome
        "GRCh38-22-16050075-A-G",  # another assembly
        "GRCh37-22-16050075-71-1-0123456789abcdef0123",  # a long-allele id
    ],
)
def test_an_id_in_our_format_that_no_dataset_holds_is_a_404(client, validator, variant_id):
    response = client.get(f"/api/g_variants/{variant_id}")
    assert response.status_code == 404
    assert response_errors(validator, response.get_json()) == []
    assert variant_id in response.get_json()["error"]["errorMessage"]


@pytest.mark.parametrize(
    "variant_id",
    [
        "junk",
        "GRCh37-22-16050075",
        "GRCh37-22-016050075-A-G",
        "GRCh37-chr22-16050075-A-G",
        "hg19-22-16050075-A-G",
        "GRCh37-22-99999999999999999999999-A-G",  # beyond any integer column
        "GRCh37-22-16050075-A-<DEL>",
    ],
)
def test_an_id_not_in_our_format_is_a_404(client, validator, variant_id):
    for method, body in (("GET", None), ("POST", {"meta": {"apiVersion": "v2.1.1"}})):
        response = client.open(f"/api/g_variants/{variant_id}", method=method, json=body)
        assert response.status_code == 404, method
        assert response_errors(validator, response.get_json()) == []
        assert response.get_json()["error"]["errorCode"] == 404


@pytest.mark.parametrize("variant_id", ["junk", "GRCh37-22-16050075-A-T"])
def test_carriers_of_an_id_no_dataset_holds_are_none(client, validator, variant_id):
    for entity in ("biosamples", "individuals"):
        document = get(client, f"/api/g_variants/{variant_id}/{entity}", requestedGranularity="record")
        assert_valid(validator, document)
        assert document["responseSummary"] == {"exists": False, "numTotalResults": 0}


def case_rows() -> list[dict[str, str]]:
    with gzip.open(CASES, "rt", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("row", case_rows()[:12], ids=lambda r: r["pos"])
def test_carriers_match_the_reference_tool(client, validator, row):
    """Biosamples and individuals carrying a variant equal the Perl reference tool's case-level data."""
    variant_id = f"GRCh37-22-{row['pos']}-{row['ref']}-{row['alt']}"
    expected = {s for s in (row["heterozygous"] + "," + row["homozygous"]).split(",") if s}
    for entity in ("biosamples", "individuals"):
        document = get(client, f"/api/g_variants/{variant_id}/{entity}", requestedGranularity="record", limit=1000)
        assert_valid(validator, document)
        found = {r["id"] for s in document["response"]["resultSets"] for r in s["results"]}
        assert found == expected


def test_bad_variant_queries_are_400s(client, validator):
    for query in (
        "referenceName=22",
        "referenceName=chrUn&start=1",
        "referenceName=22&start=1&end=0",
        "referenceName=22&start=x",
        "start=5",
        "referenceName=22&start=1&alternateBases=Z",
    ):
        response = client.get(f"/api/g_variants?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]["errorCode"] == 400
