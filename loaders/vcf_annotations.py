"""Gene symbols and protein changes from VEP `CSQ` or SnpEff `ANN` INFO annotations.

The header's description of the field names its sub-fields; a plan made from it once per file
says where the allele, gene symbol, protein HGVS and consequence sit in each `|`-separated entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from beacon.variant_ids import hgnc_id, short_protein_change

Annotations = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""Per ALT: (gene symbols then gene ids, one-letter amino-acid changes, protein HGVS ids)."""

NO_ANNOTATIONS: Annotations = ((), (), ())

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
    gene_ids: tuple[int, ...] = ()  # VEP `Gene` and `HGNC_ID`, SnpEff `Gene_ID`: ids of the symbol's gene


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
            ids = ("Gene", "HGNC_ID") if vep else ("Gene_ID",)
            return AnnotationPlan(
                key, position["Allele"], position.get("ALLELE_NUM", -1), position[symbol],
                position.get(protein, -1), position.get(consequence, -1), vep,
                tuple(position[name] for name in ids if name in position),
            )  # fmt: skip
    return None


def annotations(plan: AnnotationPlan, text: str, ref: str, alts: list[str]) -> list[Annotations]:
    """Per ALT: (gene symbols then gene ids, one-letter amino-acid changes, protein HGVS ids)."""
    width = 1 + max(plan.allele, plan.allele_number, plan.symbol, plan.protein, plan.consequence, *plan.gene_ids)
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
    gene_ids: dict[str, None] = {}  # after the symbols: records list the symbols first
    changes: dict[str, None] = {}
    proteins: dict[str, None] = {}
    for entry in entries:
        if not _outside_gene(entry, plan.consequence):
            if entry[plan.symbol]:
                genes[entry[plan.symbol]] = None
            gene_ids.update(dict.fromkeys(_gene_ids(plan, entry)))  # genes without a symbol have ids too
        protein = unquote(entry[plan.protein]) if plan.protein >= 0 else ""
        change = short_protein_change(protein)
        if change:
            changes[change] = None
            if plan.vep and ":p." in protein:
                proteins[protein] = None
    return (*genes, *(gene for gene in gene_ids if gene not in genes)), tuple(changes), tuple(proteins)


def _gene_ids(plan: AnnotationPlan, entry: list[str]) -> list[str]:
    # A geneId query finds a variant by its gene's Ensembl or HGNC id as well as by its symbol.
    return [hgnc_id(entry[at]) for at in plan.gene_ids if entry[at].strip()]


def _outside_gene(entry: list[str], consequence_at: int) -> bool:
    # Up/downstream and intergenic entries name neighbouring genes, which a geneId query must not find.
    if consequence_at < 0 or consequence_at >= len(entry):
        return False
    return set(entry[consequence_at].split("&")) <= _OUTSIDE_GENE
