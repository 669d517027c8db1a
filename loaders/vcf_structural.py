"""Structural and copy-number alleles of a VCF record: type, span, imprecise interval, mate, copy number.

A symbolic ALT (`<DEL>`, `<CN0>`, `<INS:ME:ALU>`...), a breakend ALT (`G]11:94975749]`, `.A`) or a
record whose SVTYPE names a structural type becomes an `SvShape`:

- type: from the ALT symbol, else the SVTYPE (`ALU` -> `INS:ME`, `DEL_ALU` -> `DEL:ME`, `MCNV` ->
  `CNV`), copy-number symbols to their EFO class (`beacon.structural`);
- span: insertions and breakends are points (their REF base), whatever END says; other types end
  at INFO END, else at POS + |SVLEN| (either sign convention), else at the end of REF;
- length: |SVLEN| when given (the inserted length of an insertion), else the span after POS;
- CIPOS/CIEND as given (offsets), the mate from a bracket ALT or from CHR2 with POS2 (or END2);
- a single-sample file with FORMAT CN and `<DEL>`/`<DUP>` ALTs (GATK gCNV segments) keeps the
  allele the copy number points to, classed against a diploid autosome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beacon import structural
from beacon.genome import normalise_chromosome

SKIP_REFERENCE_COPIES = "copy-number state equal to the reference ploidy"
SKIP_SEX_CHROMOSOME_COPIES = "copy number on X/Y without a known ploidy (FORMAT CN segment)"
SKIP_OTHER_COPY_DIRECTION = "ALT not the direction of the sample's copy number (FORMAT CN segment)"
SKIP_UNKNOWN_SYMBOL = "symbolic ALT"  # of unknown meaning; counted per symbol: `symbolic ALT <UNK>`
SKIP_NO_SPAN = "structural ALT with neither END, SVLEN nor a REF span"
_AUTOSOME_PLOIDY = 2


@dataclass(frozen=True, slots=True)
class SvShape:
    """What a structural allele adds to a VCF allele (0-based half-open `end`)."""

    variant_type: str
    end: int
    length: int
    cipos: tuple[int, int] | None = None
    ciend: tuple[int, int] | None = None
    mate_chromosome: str | None = None
    mate_start: int | None = None
    copy_number: int | None = None


def is_structural(alt: str) -> bool:
    """True for symbolic and breakend ALTs (the caller has already found non-base characters)."""
    return alt[:1] == "<" or "[" in alt or "]" in alt or structural.is_single_breakend(alt)


def sv_shape(
    variant: Any,
    index: int,
    alt: str,
    ref: str,
    chromosome: str,
    assembly: str,
    sample_copies: Callable[[], int | None],
) -> SvShape | str:
    """The shape of ALT number `index` of a record, or the reason it is skipped.

    `sample_copies` gives the FORMAT CN of a one-sample file's sample (asked only for gCNV-like records).
    """
    position = variant.POS
    info = variant.INFO
    kind, copies = _kind(alt, info.get("SVTYPE"))
    if kind is None:
        return f"{SKIP_UNKNOWN_SYMBOL} {alt}"
    if not kind:
        return SKIP_REFERENCE_COPIES
    segment = _format_copies(variant, alt, chromosome, sample_copies)
    if isinstance(segment, str):
        return segment
    if segment is not None:
        kind, copies = segment
    svlen = _nth_int(info.get("SVLEN"), index)
    start = position - 1
    if kind in structural.POINT_TYPES:
        end, length = start + len(ref), abs(svlen) if svlen is not None and svlen > 0 else 0
    else:
        end = _span_end(position, ref, _nth_int(info.get("END"), 0), svlen)
        if end is None:
            return SKIP_NO_SPAN
        length = abs(svlen) if svlen is not None and kind != "BND" else max(end - position, 1)
    mate = _mate(alt, info, assembly) if kind == "BND" else (None, None)
    return SvShape(
        kind, end, length, _pair(info.get("CIPOS")), _pair(info.get("CIEND")), mate[0], mate[1], copies
    )  # fmt: skip


def _kind(alt: str, svtype: Any) -> tuple[str | None, int | None]:
    """(stored type or None when unknown, stated copy number) of an ALT, with the record's SVTYPE."""
    if alt[:1] == "<" and alt[-1:] == ">":
        symbol = alt[1:-1]
        stated = structural.copy_number_of(symbol.upper())
        if stated is not None:
            copies, haplotype = stated
            cls = structural.haplotype_copy_class(copies) if haplotype else structural.copy_number_class(copies, 2)
            return cls or "", copies  # "" marks the reference state (skipped by the caller)
        kind = structural.symbolic_type(symbol)
        if kind is None and isinstance(svtype, str):
            kind = structural.SVTYPE_TYPES.get(svtype.upper()) or structural.symbolic_type(svtype)
        return kind, None
    return "BND", None  # bracket or single breakend


def _format_copies(
    variant: Any, alt: str, chromosome: str, sample_copies: Callable[[], int | None]
) -> tuple[str, int] | str | None:
    """For one-sample FORMAT CN segments with `<DEL>`/`<DUP>` ALTs: (class, copies), a skip reason, or None."""
    if alt not in ("<DEL>", "<DUP>") or len(variant.ALT) < 2:  # (variant.FORMAT crashes htslib here)
        return None
    copies = sample_copies()
    if copies is None or copies < 0:
        return None
    if chromosome in ("X", "Y"):
        return SKIP_SEX_CHROMOSOME_COPIES
    cls = structural.copy_number_class(copies, _AUTOSOME_PLOIDY)
    if cls is None:
        return SKIP_REFERENCE_COPIES
    if (copies < _AUTOSOME_PLOIDY) != (alt == "<DEL>"):
        return SKIP_OTHER_COPY_DIRECTION
    return cls, copies


def raw_sample_value(line: str | None, key: str) -> int | None:
    """The integer FORMAT `key` of the only sample of a raw VCF record line; None when absent.

    Read from the text because htslib crashes reading FORMAT values of records whose GT is declared
    Type=Integer (GATK gCNV segments, 2018).
    """
    if line is None:
        return None
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 10:
        return None
    keys, values = fields[8].split(":"), fields[9].split(":")
    if key not in keys or keys.index(key) >= len(values):
        return None
    return _nth_int(values[keys.index(key)], 0)


def _span_end(position: int, ref: str, end: int | None, svlen: int | None) -> int | None:
    if end is not None and end >= position:
        return end  # 1-based inclusive last base == 0-based exclusive end
    if svlen is not None and svlen not in (0, -1):
        return position + abs(svlen)
    if len(ref) > 1:
        return position - 1 + len(ref)
    return None


def _mate(alt: str, info: Any, assembly: str) -> tuple[str | None, int | None]:
    bracket = structural.breakend_mate(alt)
    if bracket is not None:
        contig, position = bracket
    else:
        contig = info.get("CHR2")
        position = _nth_int(info.get("POS2"), 0) or _nth_int(info.get("END2"), 0)
        if not isinstance(contig, str) or position is None:
            return None, None
    try:
        chromosome = normalise_chromosome(contig, assembly)
    except ValueError:
        chromosome = contig  # an alt or decoy contig: shown, never matched by a query
    return chromosome, position - 1


def _nth_int(value: Any, index: int) -> int | None:
    if isinstance(value, tuple | list):
        value = value[index] if index < len(value) else None
    if value is None or value == "" or value == ".":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _pair(value: Any) -> tuple[int, int] | None:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, tuple | list) or len(value) != 2:
        return None
    first, second = (_nth_int(item, 0) for item in value)
    return None if first is None or second is None else (first, second)
