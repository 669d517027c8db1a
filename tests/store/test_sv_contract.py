"""Structural variants through both stores: g_variants parameters (parsed as the API parses them)
answered by each backend, checked against `sv_truth.tsv` (bcftools) and the VCF text, never our loader.

Truth meanings, stated here from the spec and SOURCES.md: 1000G `<CN0>` and sequence-resolved
deletions (a one-base ALT) are losses, `<CN2>`+ gains, `<INS...>` insertions (points at POS), `<INV>`
inversions; a variant spans [POS - 1, END).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from typing import Any

import pytest

from beacon.query.variants import parse_variant_request
from beacon.store.base import MetadataBatch, Store
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions
from tests.sv_text import SV_DATA, records

LONG_DELETION = ("X", 86932640, 88168710)  # SOURCES.md section 1: the longest span, a 1.24 Mb <CN0>


def truth_alleles() -> list[dict[str, Any]]:
    """One row per ALT allele of sv_truth.tsv: chromosome, 0-based start and end, ALT and its kind."""
    alleles = []
    with (SV_DATA / "sv_truth.tsv").open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            for alt in row["alt"].split(","):
                point = row["end"] == "." or alt.startswith("<INS")
                pos = int(row["pos"])
                end = pos if point else int(row["end"])
                alleles.append({"chrom": row["chrom"], "start": pos - 1, "end": end, "alt": alt, "kind": _kind(alt)})
    return alleles


def _kind(alt: str) -> str:
    if not alt.startswith("<") or alt == "<CN0>":
        return "loss"
    if re.fullmatch(r"<CN\d+>", alt):
        return "gain"
    return "INS" if alt.startswith("<INS") else alt.strip("<>")


def sv_store(store: Store, dataset_id: str, *names: str) -> Store:
    batch = MetadataBatch()
    batch.add("datasets", [{"id": dataset_id}])
    store.put_metadata(batch)
    paths = [SV_DATA / name for name in names]
    load_vcf_files(store, paths, dataset_id, VcfOptions(assembly="GRCh37", keep_zero_count=True))
    return store


@pytest.fixture
def thousand_genomes(any_store: Store) -> Store:
    return sv_store(any_store, "sv", "1kgp3_sv_HG00096.vcf.gz")


def count(store: Store, dataset_id: str = "sv", **parameters: Any) -> int:
    request = parse_variant_request(parameters, {"GRCh37"})
    return store.count_variants(request.for_dataset(dataset_id, 0, 10))


def find(store: Store, dataset_id: str = "sv", **parameters: Any) -> list[Any]:
    request = parse_variant_request(parameters, {"GRCh37"})
    return store.find_variants(request.for_dataset(dataset_id, 0, 100_000))


def expected(chrom: str, start: int, end: int, keep: Callable[[dict[str, Any]], bool]) -> int:
    return sum(1 for a in truth_alleles() if a["chrom"] == chrom and a["start"] < end and a["end"] > start and keep(a))


TYPES = {
    "DEL": lambda a: a["kind"] == "loss",
    "EFO:0030067": lambda a: a["kind"] == "loss",
    "EFO:0030070": lambda a: a["kind"] == "gain",
    "DUP": lambda a: a["kind"] == "gain",
    "CNV": lambda a: a["kind"] in ("loss", "gain"),
    "INS": lambda a: a["kind"] == "INS",
    "INV": lambda a: a["kind"] == "INV",
}


@pytest.mark.parametrize(("chrom", "start", "end"), [("X", 80_000_000, 120_000_000), ("1", 0, 60_000_000)])
def test_type_counts_in_ranges_match_the_truth_table(thousand_genomes: Store, chrom: str, start: int, end: int):
    everything = count(thousand_genomes, referenceName=chrom, start=start, end=end)
    assert everything == expected(chrom, start, end, lambda a: True) > 0
    for variant_type, keep in TYPES.items():
        found = count(thousand_genomes, referenceName=chrom, start=start, end=end, variantType=variant_type)
        assert found == expected(chrom, start, end, keep), variant_type


def test_a_1kb_window_inside_a_megabase_deletion_finds_it(thousand_genomes: Store):
    chrom, pos, end = LONG_DELETION
    window = (pos + 600_000, pos + 601_000)
    found = find(thousand_genomes, referenceName=chrom, start=window[0], end=window[1], variantType="EFO:0030067")
    assert (chrom, pos - 1, end) in {(d.chromosome, d.start, d.end) for d in found}
    assert len(found) == expected(chrom, *window, TYPES["DEL"])
    assert count(thousand_genomes, referenceName=chrom, start=window[0], end=window[1]) == expected(
        chrom, *window, lambda a: True
    )


def test_bracket_queries_match_the_truth_table(thousand_genomes: Store):
    chrom, pos, end = LONG_DELETION
    s0, s1, e0, e1 = pos - 50_000, pos + 50_000, end - 50_000, end + 50_000
    truth = sum(1 for a in truth_alleles() if a["chrom"] == chrom and s0 <= a["start"] < s1 and e0 <= a["end"] < e1)
    assert count(thousand_genomes, referenceName=chrom, start=f"{s0},{s1}", end=f"{e0},{e1}") == truth >= 1


def test_variant_length_narrows_structural_variants(thousand_genomes: Store):
    def long_losses(a: dict[str, Any]) -> bool:
        return a["kind"] == "loss" and 100_000 <= a["end"] - a["start"] - 1 <= 2_000_000

    found = count(
        thousand_genomes, referenceName="X", start=0, end=99_000_000, variantType="DEL",
        variantMinLength=100_000, variantMaxLength=2_000_000,
    )  # fmt: skip
    assert found == expected("X", 0, 99_000_000, long_losses) > 0


def test_structural_fields_round_trip(thousand_genomes: Store):
    (document,) = [
        d for d in find(thousand_genomes, referenceName="10", start=127190000, end=127200000) if d.variant_type == "INV"
    ]
    text = next(
        r for r in records(SV_DATA / "1kgp3_sv_HG00096.vcf.gz") if r.alts == ("<INV>",) and r.pos == document.start + 1
    )
    assert document.cipos == tuple(int(x) for x in text.info["CIPOS"].split(","))
    assert document.ciend == tuple(int(x) for x in text.info["CIEND"].split(","))


def breakend_truth() -> list[tuple[str, int, str, int]]:
    """(chromosome, POS, mate chromosome, mate position) of the bracket breakends of the Manta demo and GRIDSS."""
    found = []
    for name in ("manta_demo_HCC1954.somaticSV.vcf.gz", "gridss_purple_COLO829v003T.sv.vcf.gz"):
        for record in records(SV_DATA / name):
            match = re.search(r"[\[\]]([^\[\]:]+):(\d+)[\[\]]", record.alts[0])
            if match:
                found.append((record.chrom, record.pos, match[1], int(match[2])))
    return found


@pytest.fixture
def breakends(any_store: Store) -> Store:
    return sv_store(any_store, "bnd", "manta_demo_HCC1954.somaticSV.vcf.gz", "gridss_purple_COLO829v003T.sv.vcf.gz")


@pytest.mark.parametrize(("chrom", "mate"), [("8", "11"), ("11", "8"), ("1", "12"), ("12", "1"), ("3", "3")])
def test_mate_queries_find_either_end(breakends: Store, chrom: str, mate: str):
    truth = [b for b in breakend_truth() if b[0] == chrom and b[2] == mate]
    assert count(breakends, "bnd", referenceName=chrom, mateName=mate) == len(truth) > 0
    pos, mate_pos = truth[0][1], truth[0][3]
    bracket = {"start": f"{pos - 1 - 100},{pos - 1 + 100}", "end": f"{mate_pos - 1 - 100},{mate_pos - 1 + 100}"}
    near = [b for b in truth if abs(b[1] - pos) < 100 and abs(b[3] - mate_pos) < 100]
    found = find(breakends, "bnd", referenceName=chrom, mateName=mate, **bracket)
    assert sorted((d.start + 1, d.mate_start + 1) for d in found) == sorted((b[1], b[3]) for b in near)
