"""MongoDB lookups of variants by name: rsID, gene (any case, HGNC or Ensembl id), protein HGVS id.

A stored variant keeps the names as loaded (`rs_ids`, `gene_ids`, `protein_hgvs_ids`) and, when they differ
from them, their keys (`beacon.variant_ids`): `gene_keys` (upper case) and `protein_keys`. Each has an index.
Variants written before the keys existed still match a gene spelt as they hold it.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel

from beacon.store.base import VariantDocument, VariantQuery
from beacon.store.mongo.queries import eq, require_text
from beacon.variant_ids import gene_key, protein_key

KEY_FIELDS = ("gene_keys", "protein_keys")
"""Stored fields of the keys (left out of what `find_variants` reads)."""

LOOKUP_INDEXES = (
    IndexModel(
        [("v", ASCENDING), ("rs_ids", ASCENDING)],
        name="by_rs_id",
        partialFilterExpression={"rs_ids": {"$exists": True}},
    ),
    IndexModel(
        [("v", ASCENDING), ("gene_keys", ASCENDING)],
        name="by_gene_key",
        partialFilterExpression={"gene_keys": {"$exists": True}},
    ),
    IndexModel(
        [("v", ASCENDING), ("protein_keys", ASCENDING)],
        name="by_protein_key",
        partialFilterExpression={"protein_keys": {"$exists": True}},
    ),
)


def lookup_keys(document: VariantDocument) -> dict[str, list[str]]:
    """The key fields to store with a variant (none when it has no genes or protein ids)."""
    keys: dict[str, list[str]] = {}
    genes = list(dict.fromkeys(gene_key(gene) for gene in document.gene_ids))
    if genes != list(document.gene_ids):  # `gene_ids` matches those already in key form (`lookup_clauses`)
        keys["gene_keys"] = genes
    proteins = [key for key in (protein_key(protein) for protein in document.protein_hgvs_ids) if key]
    if proteins:
        keys["protein_keys"] = list(dict.fromkeys(proteins))
    return keys


def lookup_clauses(query: VariantQuery) -> list[dict[str, Any]]:
    """Filter clauses of the query's gene, protein id and rsID (values compared under `$eq` only)."""
    clauses: list[dict[str, Any]] = []
    if query.gene_id is not None:
        gene = require_text(query.gene_id, "gene_id")
        clauses.append({"$or": [{"gene_keys": eq(gene)}, {"gene_ids": eq(gene)}]})
    if query.protein_id is not None:
        clauses.append({"protein_keys": eq(require_text(query.protein_id, "protein_id"))})
    if query.rs_id is not None:
        clauses.append({"rs_ids": eq(require_text(query.rs_id, "rs_id"))})
    return clauses
