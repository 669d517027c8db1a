"""g_variants over HTTP on the MongoDB store (mongomock stand-in): the app, the loader and the store together.

The first 400 records of the demo VCF (CINECA UK1 chr22, 2504 genotyped samples) are loaded with
per-population frequencies and case-level data into a stand-in store, and the API is asked what
`tests/api/test_g_variants.py` asks of the SQLite store. Expected answers come from the
independently computed tables in tests/data/vcf (bcftools-checked counts, the Perl reference
tool's case-level output), never from the code under test. A pass is not evidence of behaviour on
a real MongoDB server (see tests/store/conftest.py).
"""

from __future__ import annotations

import csv
import gzip
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_DIR, DEMO_PANEL, DEMO_VCF
from beacon.schemas import SchemaValidator
from beacon.store.mongo import MongoStore
from loaders.metadata import load_metadata
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions, read_sample_panel
from tests.allele_counts import info_ends
from tests.conftest import DATA_DIR, DEMO_DATASET, assert_valid, make_settings
from tests.store.conftest import TEST_WRITE_OPTIONS, open_mongomock

RECORDS = 400
TRUTH = DATA_DIR / "vcf" / "cineca_uk1_chr22_population_allele_counts.tsv"
CASES = DATA_DIR / "vcf" / "cineca_uk1_chr22_case_level_subset.tsv.gz"


def first_records(source: Path, target: Path, count: int) -> Path:
    """A VCF of the header and the first `count` records of `source` (text copy, no VCF code)."""
    with gzip.open(source, "rt") as handle, gzip.open(target, "wt") as out:
        lines = iter(handle)
        for line in lines:
            out.write(line)
            if line.startswith("#CHROM"):
                break
        out.writelines(itertools.islice(lines, count))
    return target


def subset_positions() -> set[int]:
    with gzip.open(DEMO_VCF, "rt") as handle:
        records = (line for line in handle if not line.startswith("#"))
        return {int(line.split("\t", 2)[1]) for line in itertools.islice(records, RECORDS)}


def truth_rows() -> list[dict[str, str]]:
    """Rows of the truth table the loader keeps from the subset: alleles some sample carries."""
    positions = subset_positions()
    with TRUTH.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if int(r["pos"]) in positions and int(r["gt_AC"]) > 0]


@pytest.fixture(scope="module", params=["mongomock-standin"])  # the label says what the store is
def mongo_demo(tmp_path_factory: pytest.TempPathFactory, validator: SchemaValidator) -> Iterator[MongoStore]:
    store = open_mongomock(write_options=TEST_WRITE_OPTIONS)
    load_metadata(store, [DEMO_DIR / "datasets.json", DEMO_DIR / "biosamples.json"], validator)
    vcf = first_records(DEMO_VCF, tmp_path_factory.mktemp("vcf") / "subset.vcf.gz", RECORDS)
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    options = VcfOptions(assembly="GRCh37", sample_panel=panel, case_level=True)
    load_vcf_files(store, [vcf], DEMO_DATASET, options)
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(mongo_demo: MongoStore, tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    settings = make_settings(tmp_path_factory.mktemp("unused") / "unused.sqlite")
    return create_app(settings, store=mongo_demo).test_client()


def get(client: FlaskClient, path: str = "/api/g_variants", **parameters: Any) -> dict[str, Any]:
    response = client.get(path, query_string=parameters)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_allele_frequencies_per_population_match_bcftools(client, validator):
    for row in truth_rows()[::40]:
        document = get(
            client,
            referenceName="22",
            start=row["start0"],
            referenceBases=row["ref"],
            alternateBases=row["alt"],
            requestedGranularity="record",
        )
        assert_valid(validator, document)
        (result_set,) = document["response"]["resultSets"]
        (record,) = result_set["results"]
        by_population = {item["population"]: item for item in record["frequencyInPopulations"][0]["frequencies"]}
        assert by_population["Total"]["alleleCount"] == int(row["gt_AC"])
        assert by_population["Total"]["alleleNumber"] == int(row["gt_AN"])
        for population in ("FIN", "GBR", "CEU"):
            assert by_population[population]["alleleCount"] == int(row[f"AC_{population}"])


def overlap_count(start: int, end: int) -> int:
    ends = info_ends(DEMO_VCF)  # symbolic alleles span to their INFO END
    return sum(1 for r in truth_rows() if int(r["start0"]) < end and _end(r, ends) > start)


def _end(row: dict[str, str], ends: dict[int, int]) -> int:
    return ends[int(row["pos"])] if row["alt"][0] == "<" else int(row["start0"]) + len(row["ref"])


def test_range_bracket_and_type_counts_match_the_truth_table(client):
    rows = truth_rows()
    last = max(int(r["start0"]) for r in rows)
    for start, end in ((0, last + 1), (16_050_000, 16_060_000), (16_060_000, 16_200_000)):
        document = get(client, referenceName="22", start=start, end=end, requestedGranularity="count")
        assert document["responseSummary"]["numTotalResults"] == overlap_count(start, end)
    indels = sum(1 for r in rows if len(r["ref"]) != len(r["alt"]) and r["alt"][0] != "<")
    document = get(client, referenceName="22", start=0, end=last + 1, variantType="INDEL", requestedGranularity="count")
    assert document["responseSummary"]["numTotalResults"] == indels > 0
    s0, s1, e0, e1 = 16_050_000, 16_100_000, 16_050_000, 16_080_000
    expected = sum(1 for r in rows if s0 <= int(r["start0"]) < s1 and e0 <= int(r["start0"]) + len(r["ref"]) < e1)
    document = get(client, referenceName="22", start=f"{s0},{s1}", end=f"{e0},{e1}", requestedGranularity="count")
    assert document["responseSummary"]["numTotalResults"] == expected > 0


def test_a_range_finds_a_deletion_starting_before_it(client):
    row = next(r for r in truth_rows() if len(r["ref"]) > 2 and len(r["alt"]) == 1)
    inside = int(row["start0"]) + 2
    document = get(client, referenceName="22", start=inside, end=inside + 1, requestedGranularity="record")
    found = {r["variantInternalId"] for s in document["response"]["resultSets"] for r in s["results"]}
    assert f"GRCh37-22-{row['pos']}-{row['ref']}-{row['alt']}" in found


def test_carriers_match_the_reference_tool(client, validator):
    positions = subset_positions()
    with gzip.open(CASES, "rt", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if int(r["pos"]) in positions]
    assert rows
    for row in rows[:4]:
        variant_id = f"GRCh37-22-{row['pos']}-{row['ref']}-{row['alt']}"
        expected = {s for s in (row["heterozygous"] + "," + row["homozygous"]).split(",") if s}
        document = get(client, f"/api/g_variants/{variant_id}/biosamples", requestedGranularity="record", limit=1000)
        assert_valid(validator, document)
        assert {r["id"] for s in document["response"]["resultSets"] for r in s["results"]} == expected


def test_rs_ids_find_their_variant_and_gene_queries_cannot_tell(client, validator):
    kept = {(row["pos"], row["ref"], row["alt"]) for row in truth_rows()}
    with gzip.open(DEMO_VCF, "rt") as handle:
        records = [line.split("\t", 5)[:5] for line in handle if not line.startswith("#")][:RECORDS]
    named = [
        (rs, pos, ref, alt) for _chrom, pos, rs, ref, alt in records if rs.startswith("rs") and (pos, ref, alt) in kept
    ]
    assert len(named) > 100
    for rs, pos, ref, alt in named[::40]:
        document = get(client, variantAlternativeId=f"dbSNP:{rs.upper()}", requestedGranularity="record")
        assert_valid(validator, document)
        (result_set,) = document["response"]["resultSets"]
        (record,) = result_set["results"]
        variation = record["variation"]
        assert (variation["location"]["interval"]["start"]["value"] + 1, variation["referenceBases"]) == (int(pos), ref)
        assert variation["alternateBases"] == alt
    document = get(client, geneId="brca2", requestedGranularity="count", includeResultsetResponses="ALL")
    assert_valid(validator, document)
    (result_set,) = document["response"]["resultSets"]
    assert result_set["info"]["cannotTell"] == "noAnnotations"  # the demo VCF has no CSQ/ANN
