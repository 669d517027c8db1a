"""Reading real VCFs into variant documents: splitting, coordinates, trimming, contigs, formats, skips."""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from pathlib import Path

import cyvcf2
import pytest

from beacon.demo import DEMO_VCF
from beacon.genome import trim_alleles
from beacon.store.base import VariantDocument
from loaders.vcf import (
    SKIP_DUPLICATE,
    SKIP_NO_ALT,
    SKIP_STAR,
    SKIP_SYMBOLIC,
    SKIP_VALUE_COUNT,
    SKIP_ZERO_COUNT,
    LoadReport,
    VcfAllele,
    VcfError,
    VcfOptions,
    read_alleles,
    read_documents,
    to_documents,
    variant_id,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
CINECA = DEMO_VCF  # the CINECA UK1 chr22 VCF (1000 Genomes INFO fields only), see beacon/demo/SOURCE.md
THOUSAND_GENOMES = DATA / "test_1000G.vcf.gz"
EGA = DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz"
EXAC = DATA / "exac.vcf.gz"
TRIO = DATA / "test_trio.vcf.gz"
GRCH37 = VcfOptions(assembly="GRCh37")
GRCH38 = VcfOptions(assembly="GRCh38")  # the EGA set's header: ##contig=<ID=1,length=248956422,assembly=hg38>


def load(path: Path, options: VcfOptions = GRCH37) -> tuple[list[VariantDocument], LoadReport]:
    report = LoadReport()
    return list(read_documents(path, options, report)), report


def by_key(documents: list[VariantDocument]) -> dict[tuple[str, int, str, str], VariantDocument]:
    return {(d.chromosome, d.start + 1, d.reference_bases, d.alternate_bases): d for d in documents}


def truth_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def head_lines(path: Path, records: int) -> list[str]:
    """The header and the first `records` record lines of a gzip-compressed VCF."""
    lines: list[str] = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            lines.append(line)
            if not line.startswith("#") and sum(not x.startswith("#") for x in lines) >= records:
                break
    return lines


@pytest.fixture(scope="module")
def cineca() -> tuple[list[VariantDocument], LoadReport]:
    return load(CINECA, VcfOptions(assembly="GRCh37", keep_zero_count=True))


def test_every_allele_of_the_cineca_file_is_read_with_vcf_coordinates(cineca) -> None:
    documents, report = cineca
    rows = truth_rows("cineca_uk1_chr22_population_allele_counts.tsv")
    assert report.records == 5002
    assert report.alleles == 5002
    # The 4 symbolic copy-number alleles load too: they span POS..END (END read from the VCF text).
    symbolic = [row for row in rows if row["alt"].startswith("<")]
    assert len(symbolic) == 4
    assert report.loaded == len(documents) == 5002
    found = by_key(documents)
    ends = _info_ends(CINECA)
    for row in rows:
        document = found[(row["chrom"], int(row["pos"]), row["ref"], row["alt"])]
        assert document.start == int(row["start0"])  # 0-based: POS - 1
        if row["alt"].startswith("<"):
            assert document.end == ends[int(row["pos"])] > document.start + 1
        else:
            assert document.end == int(row["start0"]) + len(row["ref"])


def _info_ends(path: Path) -> dict[int, int]:
    """POS -> INFO END of the records that have one, from the raw text."""
    ends = {}
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if not line.startswith("#") and (match := re.search(r"(?:^|;)END=(\d+)", line.split("\t")[7])):
                ends[int(line.split("\t")[1])] = int(match[1])
    return ends


def test_symbolic_copy_number_alleles_load_as_copy_number_classes(cineca) -> None:
    documents, report = cineca
    # 1000 Genomes `<CNn>` counts copies on one haplotype: 0 is a loss, 2 one copy more, 3+ more.
    expected = {"<CN0>": "EFO:0030067", "<CN2>": "EFO:0030071", "<CN3>": "EFO:0030072", "<CN4>": "EFO:0030072"}
    found = {d.alternate_bases: (d.variant_type, d.copy_number) for d in documents if d.alternate_bases[0] == "<"}
    assert found == {alt: (kind, int(alt[3])) for alt, kind in expected.items()}
    assert not any(reason.startswith(SKIP_SYMBOLIC) for reason in report.skipped)


def test_zero_count_alleles_are_skipped_by_default() -> None:
    rows = truth_rows("cineca_uk1_chr22_population_allele_counts.tsv")
    zero = {(r["chrom"], int(r["pos"]), r["ref"], r["alt"]) for r in rows if r["info_AC"] == "0"}
    documents, report = load(CINECA)
    assert report.skipped[SKIP_ZERO_COUNT] == len(zero) == 25
    assert not zero & set(by_key(documents))
    assert report.loaded == 5002 - 25


def test_multi_allelic_records_are_split_per_alt() -> None:
    documents, report = load(THOUSAND_GENOMES)
    assert (report.records, report.alleles) == (1042, 1044)
    found = by_key(documents)
    # 1:15274 A>G,T (AC=1739,3210) and 1:66381 TATATA>AATATA,T (AC=55,30), as the VCF lists them.
    counts = {key: found[key].frequencies[0].allele_count for key in found if key[1] in (15274, 66381)}
    assert counts == {
        ("1", 15274, "A", "G"): 1739,
        ("1", 15274, "A", "T"): 3210,
        ("1", 66381, "TATATA", "AATATA"): 55,
        ("1", 66381, "TATATA", "T"): 30,
    }
    first, second = found[("1", 66381, "TATATA", "AATATA")], found[("1", 66381, "TATATA", "T")]
    assert (first.norm_start, first.norm_ref, first.norm_alt, first.variant_type) == (66380, "T", "A", "SNP")
    assert (second.norm_start, second.norm_ref, second.norm_alt, second.variant_type) == (66381, "ATATA", "", "DEL")
    assert first.rs_ids == second.rs_ids == ("rs538833530", "rs545426917")


def test_indels_are_trimmed_so_padded_and_trimmed_queries_meet() -> None:
    found = by_key(load(THOUSAND_GENOMES)[0])
    insertion = found[("1", 10177, "A", "AC")]  # 1:10177 A>AC, rs367896724
    assert (insertion.start, insertion.end) == (10176, 10177)
    assert (insertion.norm_start, insertion.norm_ref, insertion.norm_alt) == (10177, "", "C")
    assert (insertion.variant_type, insertion.length) == ("INS", 1)
    assert insertion.rs_ids == ("rs367896724",)
    # A query spelling the same insertion trimmed, at the 0-based position after the padding base.
    assert trim_alleles(10177, "", "C") == (insertion.norm_start, insertion.norm_ref, insertion.norm_alt)


def test_a_300_bp_deletion_keeps_its_vcf_span_and_gets_a_digest_id() -> None:
    documents, _ = load(EGA, GRCH38)
    deletion = next(d for d in documents if d.start == 1234566)
    assert len(deletion.reference_bases) == 301 and deletion.alternate_bases == "T"
    assert deletion.end == 1234566 + 301
    # REF ends in T like the ALT, so trimming the suffix leaves a pure 300 bp deletion from POS.
    assert (deletion.norm_start, len(deletion.norm_ref), deletion.norm_alt) == (1234566, 300, "")
    assert (deletion.variant_type, deletion.length) == ("DEL", 300)
    assert deletion.variant_id.startswith("GRCh38-1-1234567-301-1-")
    assert len(deletion.variant_id) < 64


def test_skips_of_the_ega_set_are_counted_by_reason() -> None:
    # 44 records, 46 ALTs: 2 records repeat an earlier one (2:345685 CTATT>C, 2:345690 CCATTGGT>A),
    # 8:455678 T>A,* has a star allele, and 3 alleles have AC=0 (18:55228231, 8:489900 AGCTAT, 8:5845384).
    documents, report = load(EGA, GRCH38)
    assert (report.records, report.alleles, report.loaded) == (44, 46, 40)
    assert report.skipped == {SKIP_DUPLICATE: 2, SKIP_STAR: 1, SKIP_ZERO_COUNT: 3}
    assert len({d.variant_id for d in documents}) == 40


def test_reference_only_records_and_symbolic_non_ref_alleles_are_skipped() -> None:
    # The VCF spec's example names NCBI36 (##reference=1000GenomesPilot-NCBI36): only its records matter here.
    _, report = load(DATA / "multi-contig.vcf.gz", VcfOptions(assembly="GRCh37", ignore_header_assembly=True))
    assert report.skipped[SKIP_NO_ALT] == 2
    _, report = load(DATA / "test-multiallelic-homozygous-alt.vcf.gz")
    assert report.skipped["symbolic ALT <*:DEL>"] == 1
    assert report.loaded == 0


def test_split_records_with_unsplit_number_a_values_are_skipped() -> None:
    # 11 ExAC records were split without fixing their Number=A fields (e.g. 1:13404 G>A with AC=2,1).
    documents, report = load(EXAC)
    assert report.skipped == {SKIP_VALUE_COUNT: 11}
    assert report.loaded == len(documents) == 148 - 11
    assert ("1", 13404, "G", "A") not in by_key(documents)


def test_chr_prefixed_contigs_normalise() -> None:
    documents, _ = load(DATA / "test_gt_bases.vcf.gz")
    assert {d.chromosome for d in documents} == {"22", "MT"}
    assert all(d.variant_id.startswith(("GRCh37-22-", "GRCh37-MT-")) for d in documents)


def test_accession_and_chr_contigs_load_like_plain_names(tmp_path: Path) -> None:
    lines = head_lines(CINECA, 200)
    expected = [d.variant_id for d in load(_write(tmp_path / "plain.vcf", lines))[0]]
    for name in ("chr22", "NC_000022.10"):
        renamed = [_rename_contig(line, "22", name) for line in lines]
        assert [d.variant_id for d in load(_write(tmp_path / f"{name}.vcf", renamed))[0]] == expected
    accession = _write(tmp_path / "grch38.vcf", [_rename_contig(line, "22", "NC_000022.10") for line in lines])
    with pytest.raises(VcfError, match="GRCh37 accession, not GRCh38"):  # past the header's b37 (overridden)
        load(accession, VcfOptions(assembly="GRCh38", ignore_header_assembly=True))


def _rename_contig(line: str, old: str, new: str) -> str:
    if line.startswith(f"##contig=<ID={old},"):
        return line.replace(f"ID={old},", f"ID={new},")
    return f"{new}\t{line[len(old) + 1 :]}" if line.startswith(f"{old}\t") else line


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


def test_plain_text_plain_gzip_bgzip_and_bcf_give_the_same_documents(tmp_path: Path) -> None:
    reference, _ = load(EGA, GRCH38)  # plain gzip, as EGA published it
    text = tmp_path / "ega.vcf"
    with gzip.open(EGA, "rb") as source, text.open("wb") as target:
        shutil.copyfileobj(source, target)
    written = {"bgzf": tmp_path / "ega.bgzf.vcf.gz", "bcf": tmp_path / "ega.bcf"}
    for mode, path in (("wz", written["bgzf"]), ("wb", written["bcf"])):
        template = cyvcf2.VCF(str(text))
        writer = cyvcf2.Writer(str(path), template, mode=mode)
        for variant in template:
            writer.write_record(variant)
        writer.close()
        template.close()
    for path in (text, written["bgzf"], written["bcf"]):
        documents, _ = load(path, GRCH38)
        assert documents == reference, path.name


def test_annotations_from_vep_csq() -> None:
    found = by_key(load(EGA, GRCH38)[0])
    # CSQ: T|missense_variant|MODERATE|F5|ENSG00000198734|...|ENSP00000356770.3:p.Arg534Gln|...|HGNC|HGNC:3542|...
    factor_v = found[("1", 169549811, "C", "T")]
    assert factor_v.gene_ids == ("F5", "ENSG00000198734", "HGNC:3542")  # the symbol first, then its ids
    assert factor_v.aminoacid_changes == ("R534Q",)
    assert "ENSP00000356770.3:p.Arg534Gln" in factor_v.protein_hgvs_ids
    brca2 = found[("13", 32340301, "GT", "G")]  # CSQ: BRCA2 frameshift p.Gly1983GlufsTer21
    assert brca2.gene_ids == ("BRCA2", "ENSG00000139618", "HGNC:1101")
    assert brca2.aminoacid_changes == ("G1983Efs*21",)


def test_annotations_from_snpeff_ann_are_used_when_there_is_no_csq(tmp_path: Path) -> None:
    lines = [line for line in head_lines(TRIO, 40) if not line.startswith("##INFO=<ID=CSQ,")]
    documents, _ = load(_write(tmp_path / "ann_only.vcf", lines))
    # 1:7890024 T>G; ANN: G|missense_variant|MODERATE|PER3|ENSG00000049246|...|p.Met1006Arg, ...|p.Met997Arg, and
    # G|upstream_gene_variant|MODIFIER|RP3-467L1.4|ENSG00000236266|..., a neighbouring gene that is left out.
    per3 = by_key(documents)[("1", 7890024, "T", "G")]
    assert per3.gene_ids == ("PER3", "ENSG00000049246")
    assert per3.aminoacid_changes == ("M1006R", "M997R")
    assert per3.protein_hgvs_ids == ()  # SnpEff's HGVS.p names no protein accession


def test_documents_are_pure_functions_of_alleles() -> None:
    alleles = [
        VcfAllele("17", 7577121, "C", "T", ("rs28934576",)),
        VcfAllele("17", 100, "GA", "G"),
        VcfAllele("X", 5000, "A", "ATT"),
        VcfAllele("MT", 16023, "GC", "AT"),
    ]
    snp, deletion, insertion, mnp = to_documents(alleles, "hg38")
    assert (snp.assembly, snp.start, snp.end, snp.variant_type, snp.length) == ("GRCh38", 7577120, 7577121, "SNP", 1)
    assert snp.variant_id == "GRCh38-17-7577121-C-T"
    assert snp.rs_ids == ("rs28934576",)
    assert (deletion.start, deletion.end, deletion.norm_start, deletion.norm_ref, deletion.norm_alt) == (
        99, 101, 100, "A", ""
    )  # fmt: skip
    assert (insertion.norm_start, insertion.norm_ref, insertion.norm_alt, insertion.length) == (5000, "", "TT", 2)
    assert (mnp.variant_type, mnp.norm_ref, mnp.norm_alt) == ("MNP", "GC", "AT")


def test_variant_ids_spell_short_alleles_and_digest_long_ones() -> None:
    assert variant_id("GRCh37", "22", 16050075, "A", "G") == "GRCh37-22-16050075-A-G"
    long_ref = "A" * 70
    first = variant_id("GRCh37", "1", 10, long_ref, "A")
    assert first.startswith("GRCh37-1-10-70-1-") and first != variant_id("GRCh37", "1", 10, long_ref + "C", "A")


def test_the_reader_yields_alleles_lazily_and_counts_as_it_goes() -> None:
    report = LoadReport()
    alleles = read_alleles(CINECA, GRCH37, report)
    first = next(alleles)
    assert (first.chromosome, first.position, first.reference_bases, first.alternate_bases) == (
        "22",
        16050075,
        "A",
        "G",
    )
    assert report.records == 1 and report.loaded == 1
    alleles.close()
    assert report.lines()[0].startswith(f"{CINECA}: 1 record(s), 1 ALT allele(s) read, 1 variant(s) loaded")
