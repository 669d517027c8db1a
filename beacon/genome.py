"""Reference genome facts and allele arithmetic, with no I/O: contigs, assemblies, trimming, types.

Coordinates are 0-based half-open throughout (`start = POS - 1`, `end = start + len(REF)`).
Nothing here needs a reference FASTA, so alleles are trimmed but never shifted (left-aligned);
input VCFs are expected to be left-aligned already (`bcftools norm` does both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from beacon.structural import QUERY_HIERARCHY

CHROMOSOMES = (*(str(number) for number in range(1, 23)), "X", "Y", "MT")
"""Canonical chromosome names, in karyotype order."""

ASSEMBLIES = ("GRCh37", "GRCh38")
"""Assemblies the server knows the RefSeq accessions of."""

_ASSEMBLY_ALIASES = {
    "grch38": "GRCh38",
    "hg38": "GRCh38",
    "b38": "GRCh38",
    "grch37": "GRCh37",
    "hg19": "GRCh37",
    "b37": "GRCh37",
    "hs37d5": "GRCh37",
}

# NCBI RefSeq accessions of the primary assembly chromosomes (GCF_000001405.25 for GRCh37.p13,
# GCF_000001405.40 for GRCh38.p14; patches never change the chromosome accessions). Both
# assemblies use the revised Cambridge Reference Sequence for MT.
_ACCESSIONS = {
    "GRCh37": (
        "NC_000001.10", "NC_000002.11", "NC_000003.11", "NC_000004.11", "NC_000005.9",
        "NC_000006.11", "NC_000007.13", "NC_000008.10", "NC_000009.11", "NC_000010.10",
        "NC_000011.9", "NC_000012.11", "NC_000013.10", "NC_000014.8", "NC_000015.9",
        "NC_000016.9", "NC_000017.10", "NC_000018.9", "NC_000019.9", "NC_000020.10",
        "NC_000021.8", "NC_000022.10", "NC_000023.10", "NC_000024.9", "NC_012920.1",
    ),
    "GRCh38": (
        "NC_000001.11", "NC_000002.12", "NC_000003.12", "NC_000004.12", "NC_000005.10",
        "NC_000006.12", "NC_000007.14", "NC_000008.11", "NC_000009.12", "NC_000010.11",
        "NC_000011.10", "NC_000012.12", "NC_000013.11", "NC_000014.9", "NC_000015.10",
        "NC_000016.10", "NC_000017.11", "NC_000018.10", "NC_000019.10", "NC_000020.11",
        "NC_000021.9", "NC_000022.11", "NC_000023.11", "NC_000024.10", "NC_012920.1",
    ),
}  # fmt: skip

# Pseudo-autosomal regions, 1-based inclusive, from the GRC's assembly pages.
_PSEUDOAUTOSOMAL = {
    ("GRCh37", "X"): ((60_001, 2_699_520), (154_931_044, 155_260_560)),
    ("GRCh37", "Y"): ((10_001, 2_649_520), (59_034_050, 59_363_566)),
    ("GRCh38", "X"): ((10_001, 2_781_479), (155_701_383, 156_030_895)),
    ("GRCh38", "Y"): ((10_001, 2_781_479), (56_887_903, 57_217_415)),
}

_CHROMOSOME_ALIASES = {
    **{name.lower(): name for name in CHROMOSOMES},
    "m": "MT",
}

_ACCESSION_TO_CHROMOSOME = {
    accession: (assembly, chromosome)
    for assembly, accessions in _ACCESSIONS.items()
    for chromosome, accession in zip(CHROMOSOMES, accessions, strict=True)
}

VARIANT_TYPES = ("SNP", "MNP", "INS", "DEL", "DELINS")
"""Types `classify_variant` assigns, i.e. the types stored with each variant."""

_TYPE_HIERARCHY = {
    "SNP": ("SNP",),
    "SNV": ("SNP",),
    "MNP": ("MNP",),
    "MNV": ("MNP",),
    "INS": ("INS",),
    "DEL": ("DEL",),
    "DELINS": ("DELINS",),
    # Sequence Ontology's indel (SO:1000032) is a delins; every DELINS left after trimming changes
    # the length (equal lengths are MNPs), so INDEL covers all length-changing types.
    "INDEL": ("INS", "DEL", "DELINS"),
}

_HGVS = re.compile(
    r"^(?P<accession>NC_0\d{5}\.\d+):g\.(?P<first>\d+)(?:_(?P<last>\d+))?"
    r"(?:(?P<ref>[ACGTN])>(?P<alt>[ACGTN])|(?P<edit>delins|del|ins)(?P<bases>[ACGTN]*))$"
)

# Internal variant ids, as the VCF loader issues them (`loaders.vcf.variant_id`):
# `{assembly}-{chromosome}-{POS}-{REF}-{ALT}`, or `{assembly}-{chromosome}-{POS}-{len REF}-{len ALT}-{digest}`
# for long alleles. Alleles are upper-case IUPAC letters, so neither form is mistaken for the other.
_VARIANT_ID = re.compile(
    r"(?P<assembly>[^-]+)-(?P<chromosome>[^-]+)-(?P<position>[1-9][0-9]{0,9})-"
    r"(?:[A-Z]+-[A-Z]+|[1-9][0-9]*-[1-9][0-9]*-[0-9a-f]{20})"
)
MAX_POSITION = 2**31 - 1
"""The largest VCF POS (a 32-bit signed integer in VCF 4.3), so a parsed start always fits a store's integers."""


def parse_variant_id(variant_id: str) -> tuple[str, int] | None:
    """(chromosome, 0-based start) of an internal variant id, e.g. `GRCh38-17-7577121-C-T` -> `("17", 7577120)`.

    None when the id is not in the form the loader issues (unknown assembly or chromosome, a position
    that is not a plain positive integer up to MAX_POSITION, malformed alleles or digest), so no
    stored variant can have it.
    """
    match = _VARIANT_ID.fullmatch(variant_id)
    if match is None or match["assembly"] not in ASSEMBLIES or match["chromosome"] not in CHROMOSOMES:
        return None
    position = int(match["position"])
    if position > MAX_POSITION:
        return None
    return match["chromosome"], position - 1


def normalise_assembly(name: str) -> str:
    """`GRCh37` or `GRCh38` for an assembly name or alias (`hg19`, `b37`, `GRCh38.p14`, ...)."""
    key = name.strip().lower()
    canonical = _ASSEMBLY_ALIASES.get(key) or _ASSEMBLY_ALIASES.get(key.split(".p", 1)[0])
    if canonical is None:
        raise ValueError(f"unknown assembly {name!r} (known: GRCh37/hg19/b37/hs37d5, GRCh38/hg38/b38)")
    return canonical


def normalise_chromosome(contig: str, assembly: str | None = None) -> str:
    """The canonical chromosome (`1`..`22`, `X`, `Y`, `MT`) for a contig name or RefSeq accession.

    Accepts `1`, `chr1`, `X`, `chrX`, `M`, `chrM`, `MT` and the GRCh37/GRCh38 accessions
    (`NC_000001.10`, `NC_000001.11`, `NC_012920.1`). With `assembly`, an accession of the
    other assembly is an error. Unknown contigs (decoys, alts, unplaced) raise ValueError.
    """
    located = _ACCESSION_TO_CHROMOSOME.get(contig.strip())
    if located is not None:
        accession_assembly, chromosome = located
        if assembly is not None and chromosome != "MT" and accession_assembly != assembly:
            raise ValueError(f"contig {contig!r} is a {accession_assembly} accession, not {assembly}")
        return chromosome
    key = contig.strip().lower()
    key = key.removeprefix("chr")
    chromosome = _CHROMOSOME_ALIASES.get(key)
    if chromosome is None:
        raise ValueError(
            f"unknown contig {contig!r} (expected 1-22, X, Y or MT, with or without 'chr', "
            "or a GRCh37/GRCh38 RefSeq accession such as NC_000001.11)"
        )
    return chromosome


def refseq_accession(assembly: str, chromosome: str) -> str:
    """The RefSeq accession (e.g. `NC_000017.11`) of a canonical chromosome in an assembly."""
    try:
        return _ACCESSIONS[assembly][CHROMOSOMES.index(chromosome)]
    except (KeyError, ValueError):
        raise ValueError(f"no RefSeq accession for chromosome {chromosome!r} of {assembly!r}") from None


def locate_accession(accession: str) -> tuple[str, str]:
    """(assembly, chromosome) of a RefSeq chromosome accession; MT answers GRCh38."""
    located = _ACCESSION_TO_CHROMOSOME.get(accession)
    if located is None:
        raise ValueError(f"unknown RefSeq accession {accession!r}")
    return located


def is_pseudoautosomal(assembly: str, chromosome: str, position: int) -> bool:
    """True when a 1-based position of X or Y lies in a pseudo-autosomal region."""
    regions = _PSEUDOAUTOSOMAL.get((assembly, chromosome), ())
    return any(first <= position <= last for first, last in regions)


def trim_alleles(start: int, ref: str, alt: str) -> tuple[int, str, str]:
    """The allele with its shared suffix, then its shared prefix, removed: (norm_start, ref, alt).

    `start` is 0-based. `trim_alleles(9, "GA", "G")` is `(10, "A", "")`: a padded deletion
    and its trimmed form compare equal. Identical alleles trim to empty strings.
    """
    if len(ref) == 1 and len(alt) == 1 and ref != alt:
        return start, ref, alt
    shortest = min(len(ref), len(alt))
    suffix = 0
    while suffix < shortest and ref[-1 - suffix] == alt[-1 - suffix]:
        suffix += 1
    if suffix:
        ref, alt = ref[: len(ref) - suffix], alt[: len(alt) - suffix]
        shortest -= suffix
    prefix = 0
    while prefix < shortest and ref[prefix] == alt[prefix]:
        prefix += 1
    if prefix:
        ref, alt, start = ref[prefix:], alt[prefix:], start + prefix
    return start, ref, alt


def classify_variant(norm_ref: str, norm_alt: str) -> str:
    """SNP, MNP, INS, DEL or DELINS for a trimmed allele (see `trim_alleles`)."""
    if not norm_ref:
        if not norm_alt:
            raise ValueError("reference and alternate alleles are identical")
        return "INS"
    if not norm_alt:
        return "DEL"
    if len(norm_ref) == len(norm_alt):
        return "SNP" if len(norm_ref) == 1 else "MNP"
    return "DELINS"


def variant_length(norm_ref: str, norm_alt: str) -> int:
    """Bases a trimmed allele affects: deleted, inserted or replaced, whichever is longer."""
    return max(len(norm_ref), len(norm_alt))


def expand_variant_types(requested: Iterable[str]) -> tuple[str, ...]:
    """Stored types a query's `variantType` values cover (SNV -> SNP; INDEL -> INS, DEL, DELINS;
    structural and EFO copy-number types per `beacon.structural.QUERY_HIERARCHY`).

    Matching is case-insensitive (`efo:0030067` is EFO:0030067); unknown types are passed through
    upper-cased, so they simply match nothing.
    """
    expanded: dict[str, None] = {}
    for name in requested:
        key = name.strip().upper()
        small, structural = _TYPE_HIERARCHY.get(key, ()), QUERY_HIERARCHY.get(key, ())
        for stored in (*small, *structural) or (key,):
            expanded[stored] = None
    return tuple(expanded)


def matches_bases(pattern: str, bases: str) -> bool:
    """True when `bases` equals `pattern`, where each `N` in the pattern matches any one base."""
    if "N" not in pattern and "n" not in pattern:
        return pattern.upper() == bases.upper()
    if len(pattern) != len(bases):
        return False
    return all(p in "Nn" or p.upper() == b.upper() for p, b in zip(pattern, bases, strict=True))


def genomic_hgvs(accession: str, norm_start: int, norm_ref: str, norm_alt: str) -> str:
    """The HGVS g. expression of a trimmed allele, e.g. `NC_000017.11:g.7577121C>T`.

    The allele is not shifted 3' (that needs the reference sequence), so a deletion in a repeat
    is named where the VCF placed it.
    """
    first = norm_start + 1
    last = norm_start + len(norm_ref)
    span = str(first) if first == last else f"{first}_{last}"
    if not norm_ref:
        return f"{accession}:g.{norm_start}_{norm_start + 1}ins{norm_alt}"
    if not norm_alt:
        return f"{accession}:g.{span}del"
    if len(norm_ref) == 1 and len(norm_alt) == 1:
        return f"{accession}:g.{first}{norm_ref}>{norm_alt}"
    return f"{accession}:g.{span}delins{norm_alt}"


def parse_genomic_hgvs(expression: str) -> tuple[str, str, int, int, str | None, str]:
    """Parse the g. forms `genomic_hgvs` writes: (assembly, chromosome, start, end, ref, alt).

    `start`/`end` bound the trimmed reference allele (0-based half-open; equal for insertions),
    `ref` is None when the expression does not spell the deleted bases.
    """
    match = _HGVS.match(expression.strip())
    if match is None:
        raise ValueError(f"unsupported HGVS expression {expression!r} (expected e.g. NC_000017.11:g.7577121C>T)")
    assembly, chromosome = locate_accession(match["accession"])
    first = int(match["first"])
    last = int(match["last"] or first)
    if match["alt"]:
        return assembly, chromosome, first - 1, first, match["ref"], match["alt"]
    edit, bases = match["edit"], match["bases"]
    if edit == "ins":
        if last != first + 1 or not bases:
            raise ValueError(f"an insertion must name two adjacent positions and bases: {expression!r}")
        return assembly, chromosome, first, first, "", bases
    if last < first:
        raise ValueError(f"positions out of order in {expression!r}")
    deleted = bases if edit == "del" and bases else None
    return assembly, chromosome, first - 1, last, deleted, "" if edit == "del" else bases
