"""Gene symbols and protein changes from VEP `CSQ` or SnpEff `ANN` INFO annotations.

The header's description of the field names its sub-fields; a plan made from it once per file
says where the allele, gene symbol, protein HGVS and consequence sit in each `|`-separated entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

Annotations = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""Per ALT: (gene symbols, one-letter amino-acid changes, protein HGVS ids)."""

NO_ANNOTATIONS: Annotations = ((), (), ())

_AMINO_ACIDS = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U", "Pyl": "O", "Ter": "*", "Xaa": "X",
}  # fmt: skip
_AMINO_ACID = re.compile("|".join(_AMINO_ACIDS))
_OUTSIDE_GENE = frozenset(
    {"upstream_gene_variant", "downstream_gene_variant", "intergenic_region", "intergenic_variant"}
)


@dataclass(frozen=True)
class AnnotationPlan:
    """Where gene symbol, protein change and allele sit in a VEP CSQ or SnpEff ANN entry."""

    key: str
    allele: int
    allele_number: int
    symbol: int
    protein: int
    consequence: int
    vep: bool


def annotation_plan(descriptions: Mapping[str, str]) -> AnnotationPlan | None:
    """The plan for the CSQ field if its header describes one, else for ANN, else None."""
    for key, vep, separator in (("CSQ", True, "Format:"), ("ANN", False, "Functional annotations:")):
        description = descriptions.get(key)
        if description is None or separator not in description:
            continue
        names = [name.strip(" '\"") for name in description.split(separator, 1)[1].split("|")]
        symbol, protein, consequence = (
            ("SYMBOL", "HGVSp", "Consequence") if vep else ("Gene_Name", "HGVS.p", "Annotation")
        )
        if "Allele" in names and symbol in names:
            position = {name: index for index, name in enumerate(names)}
            return AnnotationPlan(
                key, position["Allele"], position.get("ALLELE_NUM", -1), position[symbol],
                position.get(protein, -1), position.get(consequence, -1), vep,
            )  # fmt: skip
    return None


def annotations(plan: AnnotationPlan, text: str, ref: str, alts: list[str]) -> list[Annotations]:
    """Per ALT: (gene symbols, one-letter amino-acid changes, protein HGVS ids)."""
    width = 1 + max(plan.allele, plan.allele_number, plan.symbol, plan.protein, plan.consequence)
    entries = [entry for entry in (item.split("|") for item in text.split(",")) if len(entry) >= width]
    names = _vep_alleles(ref, alts) if plan.vep else alts
    result = []
    for index, name in enumerate(names):
        chosen = [entry for entry in entries if _annotates(plan, entry, index, name)]
        if not chosen and len(alts) == 1:
            chosen = entries
        result.append(_summarise_annotations(plan, chosen))
    return result


def _annotates(plan: AnnotationPlan, entry: list[str], index: int, name: str) -> bool:
    if plan.allele_number >= 0 and entry[plan.allele_number].isdigit():
        return int(entry[plan.allele_number]) == index + 1
    return entry[plan.allele] == name


def _vep_alleles(ref: str, alts: list[str]) -> list[str]:
    # VEP drops the first base when all alleles share it and their lengths differ (indels).
    if any(len(alt) != len(ref) for alt in alts) and all(alt[:1] == ref[:1] for alt in alts):
        return [alt[1:] or "-" for alt in alts]
    return alts


def _summarise_annotations(plan: AnnotationPlan, entries: list[list[str]]) -> Annotations:
    genes: dict[str, None] = {}
    changes: dict[str, None] = {}
    proteins: dict[str, None] = {}
    for entry in entries:
        if entry[plan.symbol] and not _outside_gene(entry, plan.consequence):
            genes[entry[plan.symbol]] = None
        protein = unquote(entry[plan.protein]) if plan.protein >= 0 else ""
        change = short_protein_change(protein)
        if change:
            changes[change] = None
            if plan.vep and ":p." in protein:
                proteins[protein] = None
    return tuple(genes), tuple(changes), tuple(proteins)


def _outside_gene(entry: list[str], consequence_at: int) -> bool:
    # Up/downstream and intergenic entries name neighbouring genes, which a geneId query must not find.
    if consequence_at < 0 or consequence_at >= len(entry):
        return False
    return set(entry[consequence_at].split("&")) <= _OUTSIDE_GENE


def short_protein_change(hgvs_protein: str) -> str | None:
    """`R534Q` for `ENSP00000356770.3:p.Arg534Gln` or `p.Arg534Gln`; None when there is no change."""
    change = hgvs_protein.rsplit(":", 1)[-1]
    if not change.startswith("p."):
        return None
    change = change[2:].strip("()")
    if change in ("", "?", "=", "0"):
        return None
    return _AMINO_ACID.sub(lambda match: _AMINO_ACIDS[match.group()], change)
