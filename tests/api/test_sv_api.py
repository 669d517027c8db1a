"""Structural variants over HTTP: schema-valid records (every response of a test client is checked
against the Beacon v2.2.0 schemas), copy-number and legacy variations, mates, and the frequencies
of the 1000 Genomes and gnomAD-SV files checked against bcftools (`sv_truth.tsv`) and the VCF text."""

from __future__ import annotations

import csv
import re
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from beacon.demo import DEMO_DIR
from beacon.store.sqlite import SqliteStore
from loaders.metadata import load_metadata
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.conftest import DEMO_DATASET, make_settings
from tests.store.test_sv_contract import LONG_DELETION
from tests.sv_text import SV_DATA, records

FILES = ("1kgp3_sv_HG00096.vcf.gz", "gnomad_v2.1_sv.sites.head.vcf.gz", "manta_demo_HCC1954.somaticSV.vcf.gz")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, validator) -> FlaskClient:
    path = tmp_path_factory.mktemp("sv") / "beacon.sqlite"
    store = SqliteStore(path)
    load_metadata(store, [DEMO_DIR / "datasets.json"], validator)
    options = VcfOptions(assembly="GRCh37", keep_zero_count=True)
    load_vcf_files(store, [SV_DATA / name for name in FILES], DEMO_DATASET, options)
    store.close()
    return create_app(make_settings(path)).test_client()


def results(client: FlaskClient, **parameters: Any) -> list[dict[str, Any]]:
    response = client.get("/api/g_variants", query_string={"requestedGranularity": "record", **parameters})
    assert response.status_code == 200, response.get_json()
    return [record for result_set in response.get_json()["response"]["resultSets"] for record in result_set["results"]]


def interval(variation: dict[str, Any]) -> dict[str, Any]:
    location = variation.get("subject") or variation["location"]
    return location["interval"]


def bound(value: dict[str, Any]) -> int:
    """A position, or the low end of an imprecise one."""
    return value["value"] if value["type"] == "Number" else value["min"]


def test_a_megabase_loss_is_a_copy_number_change(client: FlaskClient):
    chrom, pos, end = LONG_DELETION
    found = results(client, referenceName=chrom, start=pos + 1000, end=pos + 2000, variantType="DEL")
    (variation,) = [r["variation"] for r in found if at(r) == pos]
    low, high = (int(x) for x in next(r for r in records(SV_DATA / FILES[0]) if r.pos == pos).info["CIEND"].split(","))
    assert interval(variation)["end"] == {"type": "DefiniteRange", "min": end + low, "max": end + high}
    assert (variation["type"], variation["copy_change"]) == ("CopyNumberChange", "efo:0030067")


def test_an_imprecise_inversion_is_a_legacy_variation_with_ranges(client: FlaskClient):
    text = next(r for r in records(SV_DATA / "1kgp3_sv_HG00096.vcf.gz") if r.alts == ("<INV>",))
    (record,) = results(client, referenceName=text.chrom, start=text.pos - 1, end=text.pos, variantType="INV")
    variation = record["variation"]
    low, high = (int(x) for x in text.info["CIPOS"].split(","))
    assert variation["variantType"] == "INV"
    assert interval(variation)["start"] == {
        "type": "DefiniteRange",
        "min": text.pos - 1 + low,
        "max": text.pos - 1 + high,
    }
    assert variation["variantLength"] == text.int_info("END") - text.pos
    assert record["identifiers"]["genomicHGVSId"].endswith(f"g.{text.pos + 1}_{text.int_info('END')}inv")


def test_breakend_records_name_their_mate_and_mate_name_finds_them(client: FlaskClient):
    found = results(client, referenceName="11", mateName="8")
    text = [r for r in records(SV_DATA / FILES[2]) if r.chrom == "11" and re.search(r"[\[\]]8:", r.alts[0])]
    assert len(found) == len(text) > 0
    for record in found:
        mate = record["variation"]["mateLocation"]
        assert mate["sequence_id"] == "refseq:NC_000008.10"  # GRCh37 chromosome 8


def test_1000_genomes_frequencies_match_bcftools(client: FlaskClient):
    text = records(SV_DATA / FILES[0])
    positions = Counter((r.chrom, r.pos) for r in text)
    # Biallelic records alone at their position, so a record is told apart by where it is.
    single = [r for r in text if r.chrom == "X" and len(r.alts) == 1 and positions[(r.chrom, r.pos)] == 1]
    truth = {(row["chrom"], int(row["pos"])): row for row in truth_rows()}
    for vcf in single[::40]:
        (record,) = [r for r in results(client, referenceName="X", start=vcf.pos - 1, end=vcf.pos) if at(r) == vcf.pos]
        by_population = {f["population"]: f for f in record["frequencyInPopulations"][0]["frequencies"]}
        assert by_population["Total"]["alleleFrequency"] == pytest.approx(float(truth[("X", vcf.pos)]["af"]), rel=1e-5)
        assert by_population["EUR"]["alleleFrequency"] == pytest.approx(float(vcf.info["EUR_AF"]), rel=1e-5)


def truth_rows() -> list[dict[str, str]]:
    with (SV_DATA / "sv_truth.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def at(record: dict[str, Any]) -> int:
    """The VCF POS of a record, from its id (`GRCh37-X-<POS>-...`)."""
    return int(record["id"].split("-")[2])


def test_gnomad_per_population_counts_match_the_vcf(client: FlaskClient):
    checked = 0
    for text in records(SV_DATA / FILES[1]):
        if text.info.get("SVTYPE") not in ("DEL", "DUP") or "EUR_AC" not in text.info:
            continue
        found = results(client, referenceName="1", start=text.pos - 1, end=text.pos, variantType=text.info["SVTYPE"])
        (record,) = [r for r in found if at(r) == text.pos and _end(r) == text.int_info("END")]
        by_population = {f["population"]: f for f in record["frequencyInPopulations"][0]["frequencies"]}
        assert by_population["Total"]["alleleCount"] == text.int_info("AC")
        assert by_population["Total"]["alleleNumber"] == text.int_info("AN")
        assert by_population["EUR"]["alleleCount"] == text.int_info("EUR_AC")
        assert by_population["EUR"]["alleleNumber"] == text.int_info("EUR_AN")
        checked += 1
    assert checked >= 10


def _end(record: dict[str, Any]) -> int:
    return bound(interval(record["variation"])["end"])


def test_a_sequence_query_still_finds_a_small_deletion(client: FlaskClient):
    text = next(r for r in records(SV_DATA / FILES[0]) if not r.alts[0].startswith("<"))
    found = results(
        client, referenceName=text.chrom, start=text.pos - 1, referenceBases=text.ref, alternateBases=text.alts[0]
    )
    assert [r["variation"]["referenceBases"] for r in found] == [text.ref]


def test_mate_name_without_reference_name_is_a_400(client: FlaskClient):
    response = client.get("/api/g_variants", query_string={"mateName": "8", "start": "5"})
    assert response.status_code == 400
    assert "referenceName" in response.get_json()["error"]["errorMessage"]


def test_a_structural_variant_is_found_by_its_id(client: FlaskClient):
    (record,) = results(client, referenceName="8", mateName="11", start="107653517", end="94975748")
    response = client.get(f"/api/g_variants/{record['id']}", query_string={"requestedGranularity": "record"})
    (found,) = [r for s in response.get_json()["response"]["resultSets"] for r in s["results"]]
    assert found["variation"] == record["variation"]
