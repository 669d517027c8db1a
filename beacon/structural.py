"""Structural and copy-number variants: their stored types, the query hierarchy and VCF ALT forms; no I/O.

Stored types (`VariantDocument.variant_type`) of structural alleles are the spec's `variantType`
values (`DEL`, `DEL:ME`, `DUP`, `DUP:TANDEM`, `INS`, `INS:ME`, `INV`, `CNV`, `BND`, `CPX`), or, for
alleles that state a copy number (`<CN0>`, `<CN=3>`, FORMAT CN), the EFO copy-number class the
copy number falls in (`EFO:0030067` loss ... `EFO:0030072` high-level gain), which is also VRS 1.3
`CopyNumberChange.copy_change`. A query type covers its narrower types (`QUERY_HIERARCHY`): a
deletion is a copy-number loss and a copy-number loss is a deletion, so `DEL` and `EFO:0030067`
find the same variants (small deletions included: `variantMinLength` narrows to SVs).
"""

from __future__ import annotations

import re

COMPLETE_LOSS = "EFO:0030069"  # complete genomic deletion: no copy left
LOW_LEVEL_LOSS = "EFO:0030068"  # one copy of a diploid region lost
LOSS = "EFO:0030067"  # copy number loss, how much unknown
GAIN = "EFO:0030070"  # copy number gain, how much unknown
LOW_LEVEL_GAIN = "EFO:0030071"  # one copy more than the ploidy
HIGH_LEVEL_GAIN = "EFO:0030072"  # two or more copies more than the ploidy
COPY_NUMBER_CLASSES = (COMPLETE_LOSS, LOW_LEVEL_LOSS, LOSS, GAIN, LOW_LEVEL_GAIN, HIGH_LEVEL_GAIN)
"""EFO copy-number classes, stored as types of alleles that state a copy number."""

_LOSSES = ("DEL", "DEL:ME", LOSS, LOW_LEVEL_LOSS, COMPLETE_LOSS)
_GAINS = ("DUP", "DUP:TANDEM", GAIN, LOW_LEVEL_GAIN, HIGH_LEVEL_GAIN)
QUERY_HIERARCHY: dict[str, tuple[str, ...]] = {
    "DEL": _LOSSES,
    LOSS: _LOSSES,
    "DEL:ME": ("DEL:ME",),
    LOW_LEVEL_LOSS: (LOW_LEVEL_LOSS,),
    COMPLETE_LOSS: (COMPLETE_LOSS,),
    "DUP": _GAINS,
    GAIN: _GAINS,
    "DUP:TANDEM": ("DUP:TANDEM",),
    LOW_LEVEL_GAIN: (LOW_LEVEL_GAIN,),
    HIGH_LEVEL_GAIN: (HIGH_LEVEL_GAIN,),
    "CNV": ("CNV", *_LOSSES, *_GAINS),
    "EFO:0030066": ("CNV", *_LOSSES, *_GAINS),  # copy number variation
    "INS": ("INS", "INS:ME"),
    "INS:ME": ("INS:ME",),
    "INV": ("INV",),
    "BND": ("BND",),
    "TRA": ("BND",),
    "CPX": ("CPX",),
    "SV": ("DEL:ME", "DUP:TANDEM", "INS:ME", "INV", "CNV", "BND", "CPX", *COPY_NUMBER_CLASSES),
}
"""Query `variantType` (upper-cased) -> stored structural types it covers; small types are in `genome`."""

POINT_TYPES = frozenset({"INS", "INS:ME", "BND"})
"""Types that are points, not spans: an END in the record is not the extent of the event."""

# The symbol of a symbolic ALT -> stored type, most specific prefix first.
_SYMBOLS = (
    ("DEL:ME", "DEL:ME"),
    ("DEL", "DEL"),
    ("DUP:TANDEM", "DUP:TANDEM"),
    ("DUP", "DUP"),
    ("INS:ME", "INS:ME"),
    ("INS", "INS"),
    ("INV", "INV"),
    ("CNV", "CNV"),
    ("BND", "BND"),
    ("TRA", "BND"),
    ("CTX", "BND"),
    ("CPX", "CPX"),
)
# 1000 Genomes phase 3 `<CN2>` (copies on one haplotype) and gnomAD-SV v2.1 `<CN=2>` (diploid copies).
_HAPLOTYPE_COPIES = re.compile(r"CN(\d+)")
_DIPLOID_COPIES = re.compile(r"CN=(\d+)")
# SVTYPE values some call sets use for types the ALT does not say (1000G MEIs, gnomAD MCNV).
SVTYPE_TYPES = {
    "ALU": "INS:ME",
    "LINE1": "INS:ME",
    "SVA": "INS:ME",
    "DEL_ALU": "DEL:ME",
    "DEL_LINE1": "DEL:ME",
    "DEL_SVA": "DEL:ME",
    "MCNV": "CNV",
}
# Breakend ALTs: `t[p[`, `t]p]`, `]p]t`, `[p[t`; p is `chrom:pos` (the chromosome may hold `:`).
_BREAKEND = re.compile(
    r"^(?:[A-Za-z]*[\[\]](?P<a>.+):(?P<apos>\d+)[\[\]]|[\[\]](?P<b>.+):(?P<bpos>\d+)[\[\]][A-Za-z]*)$"
)


def symbolic_type(symbol: str) -> str | None:
    """The stored type of a symbolic ALT's symbol (`DEL`, `INS:ME:ALU`, ...); None when unknown."""
    upper = symbol.upper()
    for prefix, stored in _SYMBOLS:
        if upper == prefix or upper.startswith(prefix + ":"):
            return stored
    return None


def copy_number_of(symbol: str) -> tuple[int, bool] | None:
    """(copies, haplotype?) of a copy-number symbol: `CN3` -> (3, True), `CN=3` -> (3, False); else None."""
    match = _DIPLOID_COPIES.fullmatch(symbol)
    if match:
        return int(match[1]), False
    match = _HAPLOTYPE_COPIES.fullmatch(symbol)
    if match:
        return int(match[1]), True
    return None


def copy_number_class(copies: int, ploidy: int) -> str | None:
    """The EFO class of `copies` in a region of `ploidy` copies; None when it is the ploidy (no change)."""
    if copies == ploidy:
        return None
    if copies == 0:
        return COMPLETE_LOSS
    if copies < ploidy:
        return LOW_LEVEL_LOSS if copies == ploidy - 1 else LOSS
    return LOW_LEVEL_GAIN if copies == ploidy + 1 else HIGH_LEVEL_GAIN


def haplotype_copy_class(copies: int) -> str | None:
    """The class of a haplotype copy number (1000G `<CNn>`): 0 a loss, 1 none, 2 one copy more, 3+ more."""
    if copies == 0:
        return LOSS  # one haplotype lost the region: whether the other did is the genotype's business
    return copy_number_class(copies + 1, 2)


def breakend_mate(alt: str) -> tuple[str, int] | None:
    """(mate contig, mate 1-based position) of a bracket breakend ALT such as `G]11:94975749]`; else None."""
    match = _BREAKEND.match(alt)
    if match is None:
        return None
    if match["a"] is not None:
        return match["a"], int(match["apos"])
    return match["b"], int(match["bpos"])


def is_single_breakend(alt: str) -> bool:
    """True for a single breakend ALT (`.A`, `A.`, `TTTT.`): a junction whose partner is unknown."""
    return len(alt) > 1 and (alt[0] == "." or alt[-1] == ".") and "[" not in alt and "]" not in alt


def is_copy_number_type(variant_type: str) -> bool:
    """True for the EFO copy-number classes (records show them as VRS `CopyNumberChange`)."""
    return variant_type.startswith("EFO:")


def structural_hgvs(accession: str, variant_type: str, start: int, end: int) -> str | None:
    """HGVS g. for a deletion, duplication or inversion spanning POS+1..END (1-based); None for other types."""
    edit = {"DEL": "del", "DEL:ME": "del", "DUP": "dup", "DUP:TANDEM": "dup", "INV": "inv"}.get(variant_type)
    first, last = start + 2, end  # `start` is the padding base before the event (0-based)
    if edit is None or last < first:
        return None
    return f"{accession}:g.{first}_{last}{edit}" if last > first else f"{accession}:g.{first}{edit}"
