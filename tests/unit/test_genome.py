"""Contigs, assemblies, RefSeq accessions, allele trimming, variant types and HGVS (beacon.genome)."""

from __future__ import annotations

import pytest

from beacon.genome import (
    ASSEMBLIES,
    CHROMOSOMES,
    classify_variant,
    expand_variant_types,
    genomic_hgvs,
    is_pseudoautosomal,
    locate_accession,
    matches_bases,
    normalise_assembly,
    normalise_chromosome,
    parse_genomic_hgvs,
    refseq_accession,
    trim_alleles,
    variant_length,
)


@pytest.mark.parametrize(
    ("contig", "chromosome"),
    [
        ("1", "1"),
        ("chr1", "1"),
        ("CHR1", "1"),
        ("22", "22"),
        ("chr22", "22"),
        ("X", "X"),
        ("chrX", "X"),
        ("x", "X"),
        ("Y", "Y"),
        ("chrY", "Y"),
        ("MT", "MT"),
        ("M", "MT"),
        ("chrM", "MT"),
        ("chrMT", "MT"),
        ("NC_000001.11", "1"),
        ("NC_000001.10", "1"),
        ("NC_000022.10", "22"),
        ("NC_000023.11", "X"),
        ("NC_000024.9", "Y"),
        ("NC_012920.1", "MT"),
    ],
)
def test_contig_names_normalise_to_canonical_chromosomes(contig: str, chromosome: str) -> None:
    assert normalise_chromosome(contig) == chromosome


@pytest.mark.parametrize("contig", ["chrUn_gl000220", "GL000192.1", "hs37d5", "23", "chr23", "NC_000025.1", ""])
def test_unknown_contigs_raise_a_clear_error(contig: str) -> None:
    with pytest.raises(ValueError, match="unknown contig"):
        normalise_chromosome(contig)


def test_an_accession_of_the_other_assembly_is_rejected() -> None:
    assert normalise_chromosome("NC_000017.10", "GRCh37") == "17"
    with pytest.raises(ValueError, match="GRCh38 accession, not GRCh37"):
        normalise_chromosome("NC_000017.11", "GRCh37")
    # MT is the same sequence (rCRS) in both assemblies.
    assert normalise_chromosome("NC_012920.1", "GRCh37") == "MT"


@pytest.mark.parametrize(
    ("name", "assembly"),
    [
        ("GRCh38", "GRCh38"),
        ("grch38", "GRCh38"),
        ("hg38", "GRCh38"),
        ("b38", "GRCh38"),
        ("GRCh38.p14", "GRCh38"),
        ("GRCh37", "GRCh37"),
        ("hg19", "GRCh37"),
        ("b37", "GRCh37"),
        ("hs37d5", "GRCh37"),
        ("GRCh37.p13", "GRCh37"),
    ],
)
def test_assembly_aliases(name: str, assembly: str) -> None:
    assert normalise_assembly(name) == assembly


@pytest.mark.parametrize("name", ["GRCh36", "hg18", "mm10", ""])
def test_unknown_assemblies_raise(name: str) -> None:
    with pytest.raises(ValueError, match="unknown assembly"):
        normalise_assembly(name)


@pytest.mark.parametrize(
    ("assembly", "chromosome", "accession"),
    [
        # Well-known accessions, as NCBI's assembly reports list them.
        ("GRCh38", "17", "NC_000017.11"),
        ("GRCh37", "17", "NC_000017.10"),
        ("GRCh38", "1", "NC_000001.11"),
        ("GRCh37", "1", "NC_000001.10"),
        ("GRCh37", "7", "NC_000007.13"),
        ("GRCh38", "7", "NC_000007.14"),
        ("GRCh37", "14", "NC_000014.8"),
        ("GRCh38", "14", "NC_000014.9"),
        ("GRCh37", "22", "NC_000022.10"),
        ("GRCh38", "22", "NC_000022.11"),
        ("GRCh37", "X", "NC_000023.10"),
        ("GRCh38", "X", "NC_000023.11"),
        ("GRCh37", "Y", "NC_000024.9"),
        ("GRCh38", "Y", "NC_000024.10"),
        ("GRCh37", "MT", "NC_012920.1"),
        ("GRCh38", "MT", "NC_012920.1"),
    ],
)
def test_refseq_accessions(assembly: str, chromosome: str, accession: str) -> None:
    assert refseq_accession(assembly, chromosome) == accession


def test_every_chromosome_of_both_assemblies_has_its_own_accession() -> None:
    accessions = {refseq_accession(assembly, chromosome) for assembly in ASSEMBLIES for chromosome in CHROMOSOMES}
    assert len(CHROMOSOMES) == 25
    assert len(accessions) == 49  # 2 x 25, MT shared
    for accession in accessions:
        assembly, chromosome = locate_accession(accession)
        assert refseq_accession(assembly, chromosome) == accession
        assert accession.startswith("NC_0")


def test_refseq_accession_of_an_unknown_chromosome_raises() -> None:
    with pytest.raises(ValueError):
        refseq_accession("GRCh38", "chr1")
    with pytest.raises(ValueError):
        refseq_accession("hg19", "1")


@pytest.mark.parametrize(
    ("start", "ref", "alt", "expected"),
    [
        (100, "A", "G", (100, "A", "G")),  # SNP: nothing to trim
        (9, "GA", "G", (10, "A", "")),  # padded deletion: the padding base goes, start moves on
        (9, "G", "GA", (10, "", "A")),  # padded insertion
        (9, "ACGT", "AT", (10, "CG", "")),  # shared suffix T, then shared prefix A
        (66380, "TATATA", "AATATA", (66380, "T", "A")),  # 1000G 1:66381 first ALT: suffix ATATA
        (66380, "TATATA", "T", (66381, "ATATA", "")),  # 1000G 1:66381 second ALT
        (0, "CT", "GT", (0, "C", "G")),  # suffix only
        (5, "AC", "AC", (5, "", "")),  # identical alleles trim to nothing (suffix first)
        (5, "CAT", "CGT", (6, "A", "G")),
    ],
)
def test_trim_alleles(start: int, ref: str, alt: str, expected: tuple[int, str, str]) -> None:
    assert trim_alleles(start, ref, alt) == expected


def test_padded_and_trimmed_forms_trim_to_the_same_allele() -> None:
    # VCF POS 11 GA>G is the deletion of the A at 0-based 11; a query may spell it trimmed.
    assert trim_alleles(10, "GA", "G") == trim_alleles(11, "A", "")
    assert trim_alleles(10, "G", "GTT") == trim_alleles(11, "", "TT")


@pytest.mark.parametrize(
    ("ref", "alt", "kind", "length"),
    [
        ("A", "G", "SNP", 1),
        ("AC", "GT", "MNP", 2),
        ("", "TT", "INS", 2),
        ("ATATA", "", "DEL", 5),
        ("CG", "T", "DELINS", 2),
        ("C", "GTA", "DELINS", 3),
    ],
)
def test_classify_variant(ref: str, alt: str, kind: str, length: int) -> None:
    assert classify_variant(ref, alt) == kind
    assert variant_length(ref, alt) == length


def test_identical_alleles_have_no_type() -> None:
    with pytest.raises(ValueError):
        classify_variant("", "")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (["SNP"], ("SNP",)),
        (["SNV"], ("SNP",)),
        (["snv"], ("SNP",)),
        (["INDEL"], ("INS", "DEL", "DELINS")),
        (["INS"], ("INS", "INS:ME")),
        # A deletion is a copy number loss (EFO:0030067) and the other way round (beacon.structural).
        (["DEL", "INS"], ("DEL", "DEL:ME", "EFO:0030067", "EFO:0030068", "EFO:0030069", "INS", "INS:ME")),
        (["efo:0030067"], ("DEL", "DEL:ME", "EFO:0030067", "EFO:0030068", "EFO:0030069")),
        (["EFO:0030069"], ("EFO:0030069",)),
        (["DUP:TANDEM"], ("DUP:TANDEM",)),
        (
            ["CNV"],
            (
                "CNV",
                "DEL",
                "DEL:ME",
                "EFO:0030067",
                "EFO:0030068",
                "EFO:0030069",
                "DUP",
                "DUP:TANDEM",
                "EFO:0030070",
                "EFO:0030071",
                "EFO:0030072",
            ),
        ),
        (["DELINS"], ("DELINS",)),
        (["MNP"], ("MNP",)),
        (["SNV", "SNP", "MNP"], ("SNP", "MNP")),
        (["DUP"], ("DUP", "DUP:TANDEM", "EFO:0030070", "EFO:0030071", "EFO:0030072")),
        (["EFO:0030070"], ("DUP", "DUP:TANDEM", "EFO:0030070", "EFO:0030071", "EFO:0030072")),
        (["BND"], ("BND",)),
        (["FOO"], ("FOO",)),
        ([], ()),
    ],
)
def test_expand_variant_types(requested: list[str], expected: tuple[str, ...]) -> None:
    assert expand_variant_types(requested) == expected


@pytest.mark.parametrize(
    ("pattern", "bases", "matches"),
    [
        ("A", "A", True),
        ("A", "G", False),
        ("N", "T", True),
        ("N", "TT", False),
        ("AN", "AC", True),
        ("AN", "CC", False),
        ("NN", "GT", True),
        ("acg", "ACG", True),
        ("", "", True),
        ("", "A", False),
        ("A", "N", False),
    ],
)
def test_matches_bases_with_n_wildcards(pattern: str, bases: str, matches: bool) -> None:
    assert matches_bases(pattern, bases) is matches


@pytest.mark.parametrize(
    ("allele", "hgvs"),
    [
        ((7577120, "C", "T"), "NC_000017.11:g.7577121C>T"),
        ((100, "A", ""), "NC_000017.11:g.101del"),
        ((100, "ACG", ""), "NC_000017.11:g.101_103del"),
        ((100, "", "TT"), "NC_000017.11:g.100_101insTT"),
        ((100, "AC", "GT"), "NC_000017.11:g.101_102delinsGT"),
        ((100, "A", "GT"), "NC_000017.11:g.101delinsGT"),
    ],
)
def test_genomic_hgvs_and_its_parser(allele: tuple[int, str, str], hgvs: str) -> None:
    start, ref, alt = allele
    assert genomic_hgvs("NC_000017.11", start, ref, alt) == hgvs
    assembly, chromosome, parsed_start, parsed_end, parsed_ref, parsed_alt = parse_genomic_hgvs(hgvs)
    assert (assembly, chromosome, parsed_start, parsed_end, parsed_alt) == (
        "GRCh38",
        "17",
        start,
        start + len(ref),
        alt,
    )
    assert parsed_ref in (ref, None)


@pytest.mark.parametrize("text", ["NC_000017.11:c.100A>G", "17:g.100A>G", "NC_000017.11:g.100_102ins", "garbage"])
def test_unsupported_hgvs_raises(text: str) -> None:
    with pytest.raises(ValueError):
        parse_genomic_hgvs(text)


@pytest.mark.parametrize(
    ("assembly", "chromosome", "position", "inside"),
    [
        ("GRCh37", "X", 60_001, True),
        ("GRCh37", "X", 60_000, False),
        ("GRCh37", "X", 2_699_520, True),
        ("GRCh37", "X", 2_699_521, False),
        ("GRCh37", "X", 207_362, True),  # the trio's PLCXD1 variant
        ("GRCh37", "X", 37_641_484, False),
        ("GRCh37", "X", 155_000_000, True),
        ("GRCh38", "X", 10_001, True),
        ("GRCh38", "X", 2_781_480, False),
        ("GRCh37", "Y", 14_898_429, False),
        ("GRCh37", "Y", 59_100_000, True),
        ("GRCh37", "7", 100_000, False),
    ],
)
def test_pseudoautosomal_regions(assembly: str, chromosome: str, position: int, inside: bool) -> None:
    assert is_pseudoautosomal(assembly, chromosome, position) is inside
