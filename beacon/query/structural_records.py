"""The `variation` of structural and copy-number variants (Beacon v2.2.0, VRS 1.3); no I/O.

- Copy-number classes (`EFO:0030067`...) are a VRS `CopyNumberChange` whose `copy_change` is the
  class and whose `subject` is the span's `SequenceLocation`.
- Other structural alleles are a `LegacyVariation`: `variantType` (`DEL`, `DUP:TANDEM`, `BND`...),
  the VCF REF, `alternateBases` empty for deletions and `N` (unspecified) otherwise (the schema
  allows bases only, not `<DEL>`), the span, `variantLength` (the SV length) and, for a breakend,
  `mateLocation` (the mate's one-base `SequenceLocation`).
- An imprecise position (VCF CIPOS/CIEND) is a VRS `DefiniteRange` for the start or the end.
"""

from __future__ import annotations

from typing import Any

from beacon.genome import refseq_accession
from beacon.store.base import VariantDocument
from beacon.structural import is_copy_number_type


def is_structural_document(document: VariantDocument) -> bool:
    """True for symbolic and breakend alleles (their ALT is not a base sequence)."""
    alt = document.alternate_bases
    return bool(alt) and (alt[0] in "<[]." or alt[-1] in "[]." or "[" in alt or "]" in alt)


def structural_variation(document: VariantDocument, accession: str) -> dict[str, Any]:
    """The `variation` of a structural allele: a CopyNumberChange or a LegacyVariation."""
    location = sequence_location(
        accession, _bound(document.start, document.cipos), _bound(document.end, document.ciend)
    )
    if is_copy_number_type(document.variant_type):
        return {"type": "CopyNumberChange", "subject": location, "copy_change": document.variant_type.lower()}
    variation: dict[str, Any] = {
        "variantType": document.variant_type,
        "referenceBases": document.reference_bases,
        "alternateBases": "" if document.variant_type.startswith("DEL") else "N",
        "location": location,
        "variantLength": document.length,
    }
    mate = _mate_location(document)
    if mate is not None:
        variation["mateLocation"] = mate
    return variation


def sequence_location(accession: str, start: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
    """A VRS 1.3 SequenceLocation on a RefSeq accession."""
    return {
        "type": "SequenceLocation",
        "sequence_id": f"refseq:{accession}",
        "interval": {"type": "SequenceInterval", "start": start, "end": end},
    }


def _bound(position: int, interval: tuple[int, int] | None) -> dict[str, Any]:
    if interval is None or interval == (0, 0):
        return {"type": "Number", "value": position}
    low, high = sorted(interval)
    return {"type": "DefiniteRange", "min": max(position + low, 0), "max": max(position + high, 0)}


def _mate_location(document: VariantDocument) -> dict[str, Any] | None:
    if document.mate_chromosome is None or document.mate_start is None:
        return None
    try:
        accession = refseq_accession(document.assembly, document.mate_chromosome)
    except ValueError:
        return None  # a mate on an alt or decoy contig has no RefSeq chromosome accession
    start = document.mate_start
    return sequence_location(accession, {"type": "Number", "value": start}, {"type": "Number", "value": start + 1})
