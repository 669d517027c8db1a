"""g_variants request parameters -> typed queries: kinds, coordinates, alleles, and clear 400s."""

from __future__ import annotations

import pytest

from beacon.errors import BadRequest
from beacon.query.variants import parse_variant_request

ONE = {"GRCh38"}


def parse(assemblies: set[str] = ONE, **parameters):
    return parse_variant_request(parameters, assemblies).template


def test_sequence_query_is_trimmed_so_padded_and_trimmed_forms_agree():
    padded = parse(referenceName="chr17", start="7577199", referenceBases="GA", alternateBases="G")
    trimmed = parse(referenceName="17", start=7577200, referenceBases="A", alternateBases="")
    assert padded.kind == trimmed.kind == "sequence"
    assert (padded.norm_start, padded.norm_ref, padded.norm_alt) == (7577200, "A", "")
    assert (trimmed.norm_start, trimmed.norm_ref, trimmed.norm_alt) == (7577200, "A", "")


@pytest.mark.parametrize("contig", ["17", "chr17", "NC_000017.11", "refseq:NC_000017.11"])
def test_contig_spellings(contig):
    assert parse(referenceName=contig, start="1", alternateBases="A").chromosome == "17"


def test_assembly_aliases_and_ambiguity():
    assert parse(referenceName="1", start="5", alternateBases="A", assemblyId="hg38").assembly == "GRCh38"
    assert parse(referenceName="1", start="5", alternateBases="A", assemblyId="GRCh38.p14").assembly == "GRCh38"
    assert parse(referenceName="1", start="5", alternateBases="A").assembly == "GRCh38"  # one served: implied
    with pytest.raises(BadRequest, match="assemblyId is required"):
        parse({"GRCh37", "GRCh38"}, referenceName="1", start="5", alternateBases="A")
    # Without coordinates (a gene, as the GDI portal sends it) no assembly is needed: every one is searched.
    assert parse({"GRCh37", "GRCh38"}, geneId="KRAS").assembly is None
    # Every variant (e.g. /datasets/{id}/g_variants without parameters): of every assembly unless one is named.
    assert (parse({"GRCh37", "GRCh38"}).kind, parse({"GRCh37", "GRCh38"}).assembly) == ("all", None)
    assert parse({"GRCh37", "GRCh38"}, variantType="SNV").assembly is None
    assert parse({"GRCh37", "GRCh38"}, assemblyId="hg19").assembly == "GRCh37"
    with pytest.raises(BadRequest, match="accession"):
        parse(referenceName="NC_000017.10", start="5", alternateBases="A", assemblyId="GRCh38")


def test_range_and_bracket_queries():
    ranged = parse(referenceName="X", start="100", end="200", variantType="SNV")
    assert (ranged.kind, ranged.start, ranged.end, ranged.variant_types) == ("range", 100, 200, ("SNP",))
    bracket = parse(referenceName="X", start="100,150", end=[300, "400"])
    assert (bracket.kind, bracket.start, bracket.start_max, bracket.end_min, bracket.end) == (
        "bracket",
        100,
        150,
        300,
        400,
    )


def test_indel_type_hierarchy():
    assert set(parse(referenceName="1", start="1", end="9", variantType="INDEL").variant_types) >= {"INS", "DEL"}


def test_post_values_coerce_numeric_strings_and_lists():
    query = parse(referenceName="1", start=["123"], end=[456.0])
    assert (query.kind, query.start, query.end) == ("range", 123, 456)


def test_openapi_spellings_are_accepted():
    assert parse(geneid="BRCA1").gene_id == "BRCA1"
    assert parse(allele="NC_000017.11:g.7577121C>T").norm_start == 7577120


def test_no_position_lists_every_variant():
    assert parse().kind == "all"
    assert parse(variantType="INV").variant_types == ("INV",)
    assert "EFO:0030069" in parse(variantType="DEL").variant_types  # a complete deletion is a deletion


def test_gene_and_hgvs_queries():
    gene = parse(geneId="BRCA1", variantMinLength="2")
    assert (gene.kind, gene.gene_id, gene.min_length) == ("gene", "BRCA1", 2)
    hgvs = parse(genomicAlleleShortForm="NC_000017.11:g.7577121C>T")
    assert (hgvs.kind, hgvs.chromosome, hgvs.norm_start, hgvs.norm_ref, hgvs.norm_alt) == (
        "sequence",
        "17",
        7577120,
        "C",
        "T",
    )


@pytest.mark.parametrize(
    ("parameters", "words"),
    [
        ({"referenceName": "1"}, "start is required"),
        ({"start": "5"}, "referenceName is required"),
        ({"referenceName": "chrUn_gl000220", "start": "1"}, "unknown contig"),
        ({"referenceName": "1", "start": "ten"}, "whole number"),
        ({"referenceName": "1", "start": "-3"}, ">= 0"),
        ({"referenceName": "1", "start": "5", "end": "5"}, "greater than start"),
        ({"referenceName": "1", "start": "1,2,3"}, "one value"),
        ({"referenceName": "1", "start": "5", "alternateBases": "AXG"}, "only A, C, G, T or N"),
        ({"referenceName": "1", "start": "1,5", "end": "9"}, "two end values"),
        ({"referenceName": "1", "start": "5,1", "end": "9,10"}, "increasing"),
        ({"referenceName": "1", "start": "5", "alternateBases": "A", "assemblyId": "mm10"}, "unknown assembly"),
        ({"genomicAlleleShortForm": "BRCA1:c.68_69del"}, "genomicAlleleShortForm"),
        ({"mateName": "2", "start": "5"}, "mateName needs referenceName"),
        ({"mateName": "2", "referenceName": "1", "start": "9,5"}, "increasing"),
        ({"referenceName": "1", "start": "0", "end": "200000000"}, "at most"),
    ],
)
def test_bad_requests_name_the_problem(parameters, words):
    with pytest.raises(BadRequest, match=words):
        parse(**parameters)


@pytest.mark.parametrize("form", ["BRCA2", "brca2", " Brca2 "])
def test_gene_symbols_are_compared_in_upper_case(form):
    assert parse(geneId=form).gene_id == "BRCA2"


@pytest.mark.parametrize("form", ["hgnc:1101", "HGNC:1101", "ensg00000139618", "ENSG00000139618"])
def test_hgnc_and_ensembl_gene_ids_keep_their_spelling_in_upper_case(form):
    assert parse(geneId=form).gene_id == form.upper()


@pytest.mark.parametrize(
    ("form", "change"),
    [
        ("R175H", "R175H"),
        ("p.R175H", "R175H"),
        ("Arg175His", "R175H"),
        ("p.Arg175His", "R175H"),
        ("p.(Arg175His)", "R175H"),
        ("p.Gly1983GlufsTer21", "G1983Efs*21"),
        ("Trp53Ter", "W53*"),
    ],
)
def test_protein_changes_in_one_and_three_letter_forms(form, change):
    query = parse(aminoacidChange=form)
    assert (query.aminoacid_change, query.protein_id) == (change, None)


def test_a_protein_hgvs_id_names_the_protein_and_the_change():
    for form in ("ENSP00000356770.3:p.Arg534Gln", "ENSP00000356770.3:p.R534Q", "ENSP00000356770.3:p.(Arg534Gln)"):
        query = parse(aminoacidChange=form)
        assert (query.aminoacid_change, query.protein_id) == ("R534Q", "ENSP00000356770.3:p.R534Q"), form


@pytest.mark.parametrize("form", ["rs28934576", "RS28934576", "dbSNP:rs28934576", "dbsnp:RS28934576", " rs28934576 "])
def test_rs_ids_with_or_without_the_dbsnp_prefix(form):
    query = parse(variantAlternativeId=form)
    assert (query.rs_id, query.kind) == ("rs28934576", "all")


@pytest.mark.parametrize(
    ("parameters", "words"),
    [
        ({"variantAlternativeId": "28934576"}, "not a dbSNP rsID"),
        ({"variantAlternativeId": "rs"}, "not a dbSNP rsID"),
        ({"variantAlternativeId": "COSV52661580"}, "not a dbSNP rsID"),
        ({"aminoacidChange": "ENSP00000356770.3:c.1601G>A"}, "protein HGVS id"),
        ({"aminoacidChange": "ENSP00000356770.3:p.="}, "protein HGVS id"),
    ],
)
def test_bad_lookups_name_the_problem(parameters, words):
    with pytest.raises(BadRequest, match=words):
        parse(**parameters)
