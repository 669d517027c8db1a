"""Internal variant ids: parsing them back to a position (beacon.genome) and the `id` query built from them.

The ids come from the loader's own functions (`loaders.vcf`), so a change of the id format that the
parser does not follow fails here.
"""

from __future__ import annotations

import pytest

from beacon.errors import NotFound
from beacon.genome import MAX_POSITION, parse_variant_id
from beacon.query.variant_search import variant_id_request
from beacon.store.base import VariantQuery, build_id_query
from loaders.vcf import to_document, variant_id

LONG_REF = "A" + "C" * 70  # REF + ALT longer than 64 bases: the id holds lengths and a digest


@pytest.mark.parametrize(
    ("assembly", "chromosome", "position", "ref", "alt"),
    [
        ("GRCh37", "22", 16050075, "A", "G"),
        ("GRCh38", "17", 7577121, "C", "T"),
        ("GRCh38", "X", 1, "GA", "G"),
        ("GRCh38", "MT", 16569, "T", "TAC"),
        ("GRCh37", "Y", MAX_POSITION, "N", "A"),
        ("GRCh38", "1", 1000, LONG_REF, "A"),
        ("GRCh37", "22", 16050075, "A", LONG_REF),
    ],
)
def test_ids_the_loader_issues_parse_to_chromosome_and_zero_based_start(
    assembly: str, chromosome: str, position: int, ref: str, alt: str
) -> None:
    document = to_document(assembly, chromosome, position, ref, alt)
    assert document.variant_id == variant_id(assembly, chromosome, position, ref, alt)
    assert parse_variant_id(document.variant_id) == (chromosome, position - 1) == (document.chromosome, document.start)


def test_both_id_forms_parse() -> None:
    assert parse_variant_id("GRCh37-22-16050075-A-G") == ("22", 16050074)
    digest = "0123456789abcdef0123"
    assert parse_variant_id(f"GRCh38-X-155701383-71-1-{digest}") == ("X", 155701382)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "junk",
        "v1",
        ".*",
        "GRCh37-22-16050075-A",  # no ALT
        "GRCh37-22-16050075-A-G-T",  # neither form
        "GRCh37-22--A-G",
        "GRCh37--16050075-A-G",
        "-22-16050075-A-G",
        "hg19-22-16050075-A-G",  # assemblies are canonical in ids
        "GRCh37-chr22-16050075-A-G",  # so are chromosomes
        "GRCh37-23-16050075-A-G",
        "GRCh37-22-16050075-a-g",  # alleles are upper case
        "GRCh37-22-16050075-A-",
        "GRCh37-22-16050075-A-<DEL>",
        "GRCh37-22-16050075-A-G\n",
        " GRCh37-22-16050075-A-G",
        "GRCh38-1-1000-71-1-0123456789ABCDEF0123",  # digests are lower-case hex
        "GRCh38-1-1000-71-1-0123456789abcdef012",  # of 20 characters
        "GRCh38-1-1000-71-1-0123456789abcdef01234",
        "GRCh38-1-1000-71-1",
    ],
)
def test_ids_not_in_the_loader_format_do_not_parse(text: str) -> None:
    assert parse_variant_id(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "GRCh37-22-0-A-G",  # VCF positions are 1-based
        "GRCh37-22--1-A-G",
        "GRCh37-22-016050075-A-G",  # the loader never writes leading zeros
        "GRCh37-22-+16050075-A-G",
        "GRCh37-22-1e5-A-G",
        "GRCh37-22-16050075.0-A-G",
        "GRCh37-22-0x10-A-G",
        "GRCh37-22-1_000-A-G",
        "GRCh37-22-١٢٣-A-G",  # Arabic-Indic digits, which int() would accept
        f"GRCh37-22-{MAX_POSITION + 1}-A-G",  # beyond a VCF POS
        f"GRCh37-22-{10**30}-A-G",  # would overflow the stores' 64-bit integers
        "GRCh37-22-" + "9" * 5000 + "-A-G",  # more digits than int() converts
        "GRCh38-1-1000-0-1-0123456789abcdef0123",  # allele lengths are positive
        "GRCh38-1-1000-071-1-0123456789abcdef0123",
        "GRCh38-1-1000-x-1-0123456789abcdef0123",
    ],
)
def test_ids_with_a_wrong_numeric_part_do_not_parse(text: str) -> None:
    assert parse_variant_id(text) is None


def test_the_id_query_is_located_by_the_id() -> None:
    assert build_id_query("D1", "GRCh38-17-7577121-C-T") == VariantQuery(
        dataset_id="D1", kind="id", variant_id="GRCh38-17-7577121-C-T", chromosome="17", start=7577120
    )
    assert build_id_query("D1", "GRCh38-17-007577121-C-T") is None


def test_an_id_no_variant_can_have_is_not_found_before_any_store_is_asked() -> None:
    assert variant_id_request("GRCh37-22-16050075-A-G").template == build_id_query("", "GRCh37-22-16050075-A-G")
    with pytest.raises(NotFound):
        variant_id_request("GRCh37-22-16050075")
