"""SQL of variant queries over one SQLite version table (alias `v`) and its side tables.

`where_clause` turns a VariantQuery into a WHERE clause per query kind (see `sqlite_variants` for the
indexes each kind uses); `count_statements` adds wide range counts up from the `<table>_bins`;
`select_sql` names the version's side tables in a clause.
"""

from __future__ import annotations

from typing import Any

import orjson

from beacon.store.base import VariantQuery
from beacon.store.sqlite.structural import MATES, mate_clause
from beacon.store.sqlite.variants import (
    AMINOACID_CHANGE,
    BIN,
    GENE,
    LONG_SPAN,
    PROTEIN,
    RS_ID,
    table_name,
)


def _glob(pattern: str) -> str:
    # Bases are validated to [ACGTN]; N is a one-base wildcard, which GLOB spells `?`.
    return pattern.replace("N", "?")


def _bases_clause(column: str, pattern: str) -> str:
    # Equality keeps the index usable; only a pattern with N wildcards needs GLOB.
    return f"{column} GLOB ?" if "N" in pattern else f"{column} = ?"


def where_clause(query: VariantQuery, max_span: int) -> tuple[str, list[Any]]:
    """The WHERE clause (on table alias `v`) and parameters for a variant query."""
    clauses: list[str] = []
    params: list[Any] = []
    builder = _KIND_CLAUSES.get(query.kind)
    if builder is None:
        raise ValueError(f"unknown variant query kind {query.kind!r}")
    clause, kind_params = builder(query, max_span)
    clauses.append(clause)
    params.extend(kind_params)
    narrowing, narrowing_params = _narrowing(query)
    clauses.extend(narrowing)
    params.extend(narrowing_params)
    return " AND ".join(f"({clause})" for clause in clauses), params


def _sequence_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    trimmed = ["v.chromosome = ?", "v.norm_start = ?"]
    params: list[Any] = [query.chromosome, query.norm_start]
    for column, value in (("norm_alt", query.norm_alt), ("norm_ref", query.norm_ref)):
        if value is not None:
            trimmed.append(_bases_clause(f"v.{column}", value))
            params.append(_glob(value))
    if query.norm_ref is not None:
        return " AND ".join(trimmed), params
    # Without a reference allele the query cannot be trimmed: also match it VCF-style.
    padded = ["v.chromosome = ?", "v.start = ?"]
    padded_params: list[Any] = [query.chromosome, query.start]
    if query.alternate_bases is not None:
        padded.append(_bases_clause("v.alternate_bases", query.alternate_bases))
        padded_params.append(_glob(query.alternate_bases))
    return f"({' AND '.join(trimmed)}) OR ({' AND '.join(padded)})", params + padded_params


def _range_clause(query: VariantQuery, max_span: int) -> tuple[str, list[Any]]:
    parts = _range_parts(query, max_span)
    return " OR ".join(f"({clause})" for clause, _ in parts), [param for _, params in parts for param in params]


def _range_parts(query: VariantQuery, max_span: int) -> list[tuple[str, list[Any]]]:
    # Two disjoint parts: variants starting within reach of the range (one covering-index scan), and
    # the few long ones (span > LONG_SPAN) starting before that, found through a partial index.
    lower = query.start - min(max_span, LONG_SPAN)
    return [
        (
            "v.chromosome = ? AND v.start >= ? AND v.start < ? AND v.end > ?",
            [query.chromosome, lower, query.end, query.start],
        ),
        (
            f"v.chromosome = ? AND v.span > {LONG_SPAN} AND v.start < ? AND v.end > ?",
            [query.chromosome, lower, query.start],
        ),
    ]


def count_statements(version: int, query: VariantQuery, max_span: int) -> list[tuple[str, list[Any]]]:
    """SELECT statements whose results add up to the query's count."""
    if query.kind == "range" and not _narrowing(query)[0] and query.end - query.start >= 2 * BIN:
        return _binned_range_counts(version, query, max_span)
    return [(select_sql(version, where, "count(*)"), params) for where, params in count_parts(query, max_span)]


def _binned_range_counts(version: int, query: VariantQuery, max_span: int) -> list[tuple[str, list[Any]]]:
    # Disjoint parts of an overlap count: starts in [start, end) from whole bins plus the two partial
    # edges, short variants starting just before `start` that reach into it, and long ones before that.
    table = table_name(version)
    chromosome, start, end = query.chromosome, query.start, query.end
    first_bin, last_bin = -(-start // BIN), end // BIN  # whole bins [first_bin, last_bin) lie inside
    lower = start - min(max_span, LONG_SPAN)
    scan = f"SELECT count(*) FROM {table} v WHERE v.chromosome = ? AND v.start >= ? AND v.start < ?"
    return [
        (
            f"SELECT coalesce(sum(n), 0) FROM {table}_bins WHERE chromosome = ? AND bin >= ? AND bin < ?",
            [chromosome, first_bin, last_bin],
        ),
        (scan, [chromosome, start, first_bin * BIN]),
        (scan, [chromosome, last_bin * BIN, end]),
        (scan + " AND v.end > ?", [chromosome, lower, start, start]),
        (
            f"SELECT count(*) FROM {table} v WHERE v.chromosome = ? AND v.span > {LONG_SPAN} AND v.start < ?"
            " AND v.end > ?",
            [chromosome, lower, start],
        ),
    ]


def count_parts(query: VariantQuery, max_span: int) -> list[tuple[str, list[Any]]]:
    """Disjoint WHERE clauses whose counts add up to the query's count (one unless it is a range)."""
    if query.kind != "range":
        return [where_clause(query, max_span)]
    narrowing, narrowing_params = _narrowing(query)
    return [
        (" AND ".join(f"({c})" for c in [clause, *narrowing]), [*params, *narrowing_params])
        for clause, params in _range_parts(query, max_span)
    ]


def _bracket_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    clause = "v.chromosome = ? AND v.start >= ? AND v.start < ? AND v.end >= ? AND v.end < ?"
    return clause, [query.chromosome, query.start, query.start_max, query.end_min, query.end]


def _gene_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    return "1", []  # the gene itself is a narrowing condition


def _id_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    # The id alone is in no index: without its position the lookup would read the whole table.
    if query.chromosome is None or query.start is None:
        raise ValueError("an id query needs the variant's chromosome and start (see build_id_query)")
    return "v.chromosome = ? AND v.start = ? AND v.variant_id = ?", [query.chromosome, query.start, query.variant_id]


def _all_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    return "1", []


_KIND_CLAUSES = {
    "sequence": _sequence_clause,
    "range": _range_clause,
    "bracket": _bracket_clause,
    "gene": _gene_clause,
    "id": _id_clause,
    "all": _all_clause,
    "mate": mate_clause,
}


def is_everything(query: VariantQuery) -> bool:
    """True for an `all` query with nothing narrowing it: its count is the version's variant count."""
    return query.kind == "all" and not _narrowing(query)[0]


def _narrowing(query: VariantQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.kind != "sequence" and query.alternate_bases is not None:
        clauses.append("(v.alternate_bases GLOB ? OR v.norm_alt GLOB ?)")
        params += [_glob(query.alternate_bases)] * 2
    if query.kind == "range" and query.reference_bases is not None:
        clauses.append("(v.reference_bases GLOB ? OR v.norm_ref GLOB ?)")
        params += [_glob(query.reference_bases)] * 2
    if query.variant_types:
        clauses.append(f"v.variant_type IN ({', '.join('?' * len(query.variant_types))})")
        params += list(query.variant_types)
    if query.min_length is not None:
        clauses.append("v.length >= ?")
        params.append(query.min_length)
    if query.max_length is not None:
        clauses.append("v.length <= ?")
        params.append(query.max_length)
    lookups = (
        (GENE, query.gene_id),
        (AMINOACID_CHANGE, query.aminoacid_change),
        (PROTEIN, query.protein_id),
        (RS_ID, query.rs_id),
    )
    for kind, value in lookups:
        if value is not None:
            clauses.append("v.rowid IN (SELECT a.rowid_ref FROM {annotations} a WHERE a.kind = ? AND a.value = ?)")
            params += [kind, value]
    if query.biosample_ids is not None:
        # Correlated: probes the carriers of each candidate variant (index on rowid_ref) instead of
        # reading every carrier row of the selected biosamples.
        clauses.append(
            "EXISTS (SELECT 1 FROM {carriers} c WHERE c.rowid_ref = v.rowid"
            " AND c.biosample_id IN (SELECT value FROM json_each(?)))"
        )
        params.append(orjson.dumps(sorted(query.biosample_ids)).decode())
    return clauses, params


def select_sql(version: int, where: str, what: str) -> str:
    """A SELECT over one version table with its side tables named in the clause."""
    table = table_name(version)
    where = where.replace("{annotations}", f"{table}_annotations").replace("{carriers}", f"{table}_carriers")
    where = where.replace("{mates}", f"{table}{MATES}")
    return f"SELECT {what} FROM {table} v WHERE {where}"
