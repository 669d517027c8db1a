"""The lookup page's search box: every form a clinician types becomes the API request the spec defines
(0-based start, half-open end), and wrong input gets a message that says what to type instead."""

from __future__ import annotations

import pytest

from beacon.web.search_input import GENE_PARAMETER, RSID_PARAMETER, InputError, parse_search, protein_change

TP53_R175H = {"referenceName": "17", "start": "7577120", "referenceBases": "C", "alternateBases": "T"}


@pytest.mark.parametrize(
    "text",
    [
        "17-7577121-C-T",
        "chr17:7577121 C>T",
        "chr17:7577121C>T",
        "17:7577121:C:T",
        "17:g.7577121C>T",
        "chr17 7577121 C T",
        "17-7,577,121-C-T",
        "  17-7577121-c-t  ",
        "CHR17:7577121 c>t",
    ],
)
def test_variant_forms_become_a_sequence_query_with_a_zero_based_start(text: str) -> None:
    lookup = parse_search(text)
    assert lookup.kind == "variant"
    assert lookup.parameters == TP53_R175H
    assert "1-based" in lookup.explanation and "7,577,120" in lookup.explanation


def test_the_chosen_assembly_goes_with_positional_queries() -> None:
    assert parse_search("17-7577121-C-T", "GRCh38").parameters == {**TP53_R175H, "assemblyId": "GRCh38"}
    assert parse_search("17:7,570,000-7,590,000", "GRCh37").parameters["assemblyId"] == "GRCh37"


@pytest.mark.parametrize("text", ["NC_000017.11:g.7577121C>T", "nc_000017.11:g.7577121c>t"])
def test_refseq_hgvs_is_sent_as_the_genomic_allele_short_form(text: str) -> None:
    lookup = parse_search(text, "GRCh37")
    # The accession names its assembly: the page's assembly choice is not added (the API checks agreement).
    assert lookup.parameters == {"genomicAlleleShortForm": "NC_000017.11:g.7577121C>T"}


def test_chromosome_names_are_normalised() -> None:
    assert parse_search("chrX-100-A-G").parameters["referenceName"] == "X"
    assert parse_search("chrM:73 A>G").parameters["referenceName"] == "MT"
    assert parse_search("07-100-A-G").parameters["referenceName"] == "7"


@pytest.mark.parametrize("text", ["rs28934576", "RS28934576", "rs028934576"])
def test_rsids(text: str) -> None:
    lookup = parse_search(text)
    assert (lookup.kind, lookup.parameters) == ("rsid", {RSID_PARAMETER: "rs28934576"})


@pytest.mark.parametrize(
    ("text", "gene"),
    [("TP53", "TP53"), ("brca2", "brca2"), ("HGNC:11998", "HGNC:11998"), ("hgnc:1101", "HGNC:1101"),
     ("ENSG00000141510", "ENSG00000141510"), ("ensg00000139618.17", "ENSG00000139618.17"), ("C1orf112", "C1orf112")],
)  # fmt: skip
def test_gene_ids_are_passed_to_the_api_as_typed(text: str, gene: str) -> None:
    lookup = parse_search(text)
    assert (lookup.kind, lookup.parameters, lookup.lists) == ("gene", {GENE_PARAMETER: gene}, True)


@pytest.mark.parametrize(
    "text",
    ["TP53 R175H", "TP53 p.R175H", "TP53 p.Arg175His", "TP53 p.(Arg175His)", "TP53 Arg175His", "TP53 r175h"],
)
def test_protein_changes_in_one_and_three_letter_forms(text: str) -> None:
    assert parse_search(text).parameters == {GENE_PARAMETER: "TP53", "aminoacidChange": "R175H"}


@pytest.mark.parametrize(
    ("typed", "one_letter"),
    [("p.Arg213Ter", "R213*"), ("p.Gly12=", "G12G"), ("V600E", "V600E"), ("p.Trp53*", "W53*"), ("p.R248fs", "R248fs")],
)
def test_protein_change_forms(typed: str, one_letter: str) -> None:
    assert protein_change(typed) == one_letter


def test_regions_are_one_based_inclusive_and_become_half_open() -> None:
    lookup = parse_search("17:7,570,000-7,590,000")
    assert lookup.kind == "region" and lookup.lists
    # 1-based 7,570,000..7,590,000 both included = 0-based [7,569,999, 7,590,000)
    assert lookup.parameters == {"referenceName": "17", "start": "7569999", "end": "7590000"}
    assert parse_search("chr17:7570000..7590000").parameters == lookup.parameters
    assert parse_search("17:100-100").parameters == {"referenceName": "17", "start": "99", "end": "100"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type a variant"),
        ("   ", "type a variant"),
        ("17:7577121", "a position alone is not a variant"),
        ("17-0-C-T", "positions start at 1"),
        ("23-100-A-G", "there is no chromosome 23"),
        ("17-7577121-C-C", "the reference and alternate bases are the same"),
        ("17:7,590,000-7,570,000", "write the smaller position first"),
        ("1:1-50,000,000", "at most 10,000,000"),
        ("17-999999999-C-T", "beyond the end of every human chromosome"),
        ("NM_000546.6:c.524G>A", "transcript (c.) or protein accession"),
        ("TP53 R175", "is not a protein change"),
        ("TP53 p.Arg175Xyz", "is not an amino acid's three-letter code"),
        ("17:7577121 C>Z", "looks like a position but not one this page reads"),
        ("what is this?", "Examples: 17-7577121-C-T"),
        ("x" * 201, "too long"),
    ],
)
def test_wrong_input_says_what_to_type(text: str, message: str) -> None:
    with pytest.raises(InputError, match=None) as caught:
        parse_search(text)
    assert message in str(caught.value)
