"""Lookup keys of a variant's names: rsIDs, gene ids and protein changes, as queries and stores compare them.

The loader stores what the VCF says; queries and store indexes compare normalised keys, so that the forms
people type find the same variant: `brca2`, `BRCA2`, `HGNC:1101` and `ENSG00000139618` (gene keys are
upper case), `R175H`, `Arg175His`, `p.Arg175His` and `p.(R175H)` (the one-letter change), `dbSNP:rs28934576`
and `RS28934576` (`rs28934576`).
"""

from __future__ import annotations

import re

_AMINO_ACIDS = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U", "Pyl": "O", "Ter": "*", "Xaa": "X",
}  # fmt: skip
_AMINO_ACID = re.compile("|".join(_AMINO_ACIDS))
_RS_ID = re.compile(r"(?:dbsnp:)?(rs[0-9]+)", re.IGNORECASE)
_HGNC_NUMBER = re.compile(r"[0-9]+")


def rs_key(text: str) -> str | None:
    """`rs28934576` for `rs28934576`, `RS28934576` or `dbSNP:rs28934576`; None when it is no rsID."""
    match = _RS_ID.fullmatch(text.strip())
    return None if match is None else match.group(1).lower()


def gene_key(text: str) -> str:
    """The upper-case form a gene symbol or id is compared in (`brca2` and `BRCA2` are one gene)."""
    return text.strip().upper()


def hgnc_id(value: str) -> str:
    """`HGNC:1101` for VEP's `HGNC_ID` field, which older VEP versions write as the bare number."""
    value = value.strip()
    return f"HGNC:{value}" if _HGNC_NUMBER.fullmatch(value) else value


def one_letter_change(change: str) -> str:
    """`R534Q` for `R534Q`, `Arg534Gln`, `p.Arg534Gln` or `p.(Arg534Gln)`: the form changes are stored in."""
    change = change.strip().removeprefix("p.").strip("()")
    return _AMINO_ACID.sub(lambda match: _AMINO_ACIDS[match.group()], change)


def short_protein_change(hgvs_protein: str) -> str | None:
    """`R534Q` for `ENSP00000356770.3:p.Arg534Gln` or `p.Arg534Gln`; None when there is no change."""
    change = hgvs_protein.rsplit(":", 1)[-1]
    if not change.startswith("p."):
        return None
    change = change[2:].strip("()")
    if change in ("", "?", "=", "0"):
        return None
    return one_letter_change(change)


def protein_key(hgvs_protein: str) -> str | None:
    """`ENSP00000356770.3:p.R534Q` for `ENSP00000356770.3:p.Arg534Gln` (either form); None without a protein
    accession or a change."""
    accession, _, change = hgvs_protein.strip().rpartition(":")
    short = short_protein_change(change)
    if not accession or short is None:
        return None
    return f"{accession}:p.{short}"
