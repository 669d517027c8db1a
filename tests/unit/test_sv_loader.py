"""The VCF loader on real SV/CNV files (tests/data/sv): every record loads or is skipped with a reason,
types, spans, imprecise intervals, mates and copy numbers checked against the files' text, the
collection's SOURCES.md tables and `sv_truth.tsv` (bcftools)."""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from pathlib import Path

import pytest

from loaders.vcf import LoadReport, VcfOptions, read_documents
from tests.sv_text import SV_DATA, records

GRCH38 = {
    "gnomad.v4.0.cnv.all.head.vcf.gz",
    "gatksv_1kgp_small.chr11.vcf.gz",
    "manta_COLO829.somaticSV.vcf.gz",
    "delly2_HCC1395.filtered.chr1.vcf.gz",
    "lumpy_COLO829.chr1.unsorted.vcf.gz",
}
THOUSAND_GENOMES = SV_DATA / "1kgp3_sv_HG00096.vcf.gz"


def load(path: Path, **options):
    assembly = "GRCh38" if path.name in GRCH38 else "GRCh37"
    report = LoadReport()
    documents = list(read_documents(path, VcfOptions(assembly=assembly, **options), report))
    return documents, report


def sv_files() -> list[Path]:
    return sorted(path for path in SV_DATA.iterdir() if path.name.endswith((".vcf", ".vcf.gz")))


@pytest.mark.parametrize("path", sv_files(), ids=lambda path: path.name)
def test_every_record_loads_or_is_skipped_with_a_reason(path: Path) -> None:
    text = records(path)
    documents, report = load(path, skip_unknown_contigs=True, keep_zero_count=True)
    assert report.records == len(text)
    assert report.alleles == sum(len(record.alts) for record in text)
    no_alt = sum(1 for record in text if not record.alts)
    assert report.loaded + sum(report.skipped.values()) == report.alleles + no_alt
    assert report.loaded == len(documents) > 0 or path.name == "vcf44_spec_sv44.vcf"
    # Every symbolic ALT the VCF spec names is understood: only other symbols are skipped as such.
    for reason in report.skipped:
        if reason.startswith("symbolic ALT <"):
            assert not reason.removeprefix("symbolic ALT <").startswith(("DEL", "DUP", "INV", "INS", "CN", "BND"))


def test_the_toy_contig_of_the_vcf_44_example_is_an_unknown_contig() -> None:
    _, report = load(SV_DATA / "vcf44_spec_sv44.vcf", skip_unknown_contigs=True)
    assert report.skipped == {"unknown contig": 9}


def test_1000_genomes_alleles_by_alt_equal_the_sources_table() -> None:
    documents, report = load(THOUSAND_GENOMES, keep_zero_count=True)
    assert report.loaded == 5364 and not report.skipped
    symbolic = Counter(d.alternate_bases for d in documents if d.alternate_bases.startswith("<"))
    # shared/data/sv/SOURCES.md, section 1, "By ALT allele".
    assert symbolic == {
        "<CN0>": 2214, "<INS:ME:ALU>": 753, "<CN2>": 478, "<INS:ME:LINE1>": 206, "<CN3>": 111, "<CN4>": 55,
        "<INS:ME:SVA>": 35, "<CN5>": 23, "<INV>": 20, "<CN6>": 9, "<INS:MT>": 8, "<CN7>": 5, "<CN8>": 1, "<CN9>": 1,
    }  # fmt: skip
    assert sum(1 for d in documents if not d.alternate_bases.startswith("<")) == 1445


def truth() -> list[dict[str, str]]:
    with (SV_DATA / "sv_truth.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_1000_genomes_spans_types_and_frequencies_match_bcftools() -> None:
    documents, _ = load(THOUSAND_GENOMES, keep_zero_count=True)
    # END, 1-based inclusive, is the 0-based exclusive end; insertions are points at POS.
    found = {(d.chromosome, d.start + 1, d.alternate_bases, d.end): d for d in documents}
    assert len(found) == len(documents)
    for row in truth():
        for alt, af in zip(row["alt"].split(","), row["af"].split(","), strict=True):
            point = row["end"] == "." or alt.startswith("<INS")  # NUMTs have an END, still a point
            end = int(row["pos"]) if point else int(row["end"])
            document = found[(row["chrom"], int(row["pos"]), alt, end)]
            if row["end"] == ".":
                assert document.variant_type == "INS:ME"
            total = document.frequencies[0]
            assert total.population == "Total" and total.allele_frequency == pytest.approx(float(af), rel=1e-5)
            expected = {"<CN0>": "EFO:0030067", "<CN2>": "EFO:0030071", "<INV>": "INV"}.get(alt)
            if expected is None and alt.startswith("<CN"):
                expected = "EFO:0030072"  # 3 or more copies on a haplotype: high-level gain
            if expected is not None:
                assert document.variant_type == expected


def test_gnomad_diploid_copy_states_map_to_copy_number_classes() -> None:
    path = SV_DATA / "gnomad_v2.1_sv.sites.head.vcf.gz"
    documents, report = load(path, keep_zero_count=True)
    expected = Counter()
    for record in records(path):
        for alt in record.alts:
            if match := re.fullmatch(r"<CN=(\d+)>", alt):
                copies = int(match[1])
                classes = {0: "EFO:0030069", 1: "EFO:0030068", 2: None, 3: "EFO:0030071"}
                expected[classes.get(copies, "EFO:0030072")] += 1
    found = Counter(d.variant_type for d in documents if d.variant_type.startswith("EFO:"))
    reference = expected.pop(None)
    assert found == expected and reference == report.skipped["copy-number state equal to the reference ploidy"]


def test_gcnv_segments_take_their_class_from_format_cn() -> None:
    documents, _ = load(SV_DATA / "gatk_gcnv_segments_output_SAMPLE_000.vcf.gz")
    # SOURCES.md section 11: autosomes GT=1 CN1 18, GT=2 CN3 6, CN4 4, CN5 4; reference segments skipped.
    found = Counter((d.variant_type, d.copy_number) for d in documents)
    assert found == {("EFO:0030068", 1): 18, ("EFO:0030071", 3): 6, ("EFO:0030072", 4): 4, ("EFO:0030072", 5): 4}


@pytest.mark.parametrize(
    "name",
    ["lumpy_COLO829.chr1.unsorted.vcf.gz", "gnomad_v2.1_sv.sites.head.vcf.gz", "delly2_HCC1395.filtered.chr1.vcf.gz"],
)
def test_spans_follow_end_and_svlen_in_either_sign_convention(name: str) -> None:
    documents, _ = load(SV_DATA / name, keep_zero_count=True)
    found = {(d.start + 1, d.alternate_bases, d.end): d for d in documents}
    checked = 0
    for record in records(SV_DATA / name):
        kind = record.info.get("SVTYPE")
        if kind not in ("DEL", "DUP", "INV") or not record.alts[0].startswith("<"):
            continue
        end = record.int_info("END")
        document = found[(record.pos, record.alts[0], end)]
        svlen = record.int_info("SVLEN")
        assert document.length == (abs(svlen) if svlen is not None else end - record.pos)
        cipos = record.info.get("CIPOS")
        assert document.cipos == (None if cipos is None else tuple(int(x) for x in cipos.split(",")))
        checked += 1
    assert checked > 20


def test_insertions_and_breakends_are_points_whatever_end_says() -> None:
    documents, _ = load(SV_DATA / "gnomad_v2.1_sv.sites.head.vcf.gz", keep_zero_count=True)
    points = [d for d in documents if d.variant_type in ("INS", "BND")]
    assert len(points) == 8  # SOURCES.md section 2: INS 5, BND 3
    assert all(d.end == d.start + 1 for d in points)
    # `<BND>` with CHR2/POS2: the mate (SOURCES.md: 1:10642 -> CHR2=15, POS2=10642).
    assert {(d.start + 1, d.mate_chromosome, d.mate_start + 1) for d in points if d.variant_type == "BND"} >= {
        (10642, "15", 10642)
    }


@pytest.mark.parametrize("name", ["manta_demo_HCC1954.somaticSV.vcf.gz", "gridss_purple_COLO829v003T.sv.vcf.gz"])
def test_breakend_mates_are_the_alt_positions_and_mateids_pair_up(name: str) -> None:
    path = SV_DATA / name
    documents, _ = load(path, keep_zero_count=True)
    text = records(path)
    assert len(documents) == len(text)  # one breakend per record, in file order
    by_id = {record.id: record for record in text}
    paired = 0
    for record, document in zip(text, documents, strict=True):
        match = re.search(r"[\[\]]([^\[\]:]+):(\d+)[\[\]]", record.alts[0])
        assert (document.chromosome, document.start + 1, document.variant_type) == (record.chrom, record.pos, "BND")
        if match is None:  # a single breakend
            assert document.mate_chromosome is None
            continue
        assert (document.mate_chromosome, document.mate_start + 1) == (match[1], int(match[2]))
        mate = by_id.get(record.info.get("MATEID", ""))
        if mate is not None:  # the mate's POS is the ALT's position give or take its microhomology
            assert mate.chrom == match[1] and abs(mate.pos - int(match[2])) <= 10
            paired += 1
    assert paired >= 6


def test_case_level_carriers_of_gatk_sv_records_are_the_samples_with_an_alt_genotype() -> None:
    path = SV_DATA / "gatksv_1kgp_small.chr11.vcf.gz"
    documents, _ = load(path, case_level=True)
    with gzip.open(path, "rt") as handle:
        lines = [line.rstrip("\n").split("\t") for line in handle if not line.startswith("##")]
    samples, rows = lines[0][9:], lines[1:]
    by_position = {(d.start + 1, d.alternate_bases): d for d in documents}
    checked = 0
    for row in rows:
        document = by_position.get((int(row[1]), row[4]))
        if document is None:  # AC=0 sites are skipped
            continue
        carriers = {s for s, value in zip(samples, row[9:], strict=True) if "1" in value.split(":")[0]}
        assert {biosample for biosample, _ in document.carriers} == carriers
        checked += 1
    assert checked == len(documents) > 0
