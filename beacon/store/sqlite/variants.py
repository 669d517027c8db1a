"""Variants in SQLite: one table per dataset version (rows, payload, queries); loads are in `sqlite_loads`.

Indexed columns answer the three query kinds:
- sequence: `(chromosome, norm_start, norm_alt)` on the trimmed allele, and `(chromosome, start, end)`
  for the VCF-style start;
- range (overlap): `start < q.end AND end > q.start`, with the lower bound `start >= q.start - span`,
  where `span` is the longest variant of the version at most LONG_SPAN; longer ones (few) are found
  through a partial index on `start WHERE span > LONG_SPAN`;
- bracket: `s0 <= start < s1 AND e0 <= end < e1` on `(chromosome, start, end)`.

Counting a wide range without other conditions adds up `<table>_bins` (variants starting in each
BIN-sized bin, built at commit) and scans only the two partial edge bins: a 1 Mb count on 10M variants
reads about 100 bin rows instead of ~50,000 index entries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from beacon.store.base import PopulationFrequency, StoreError, VariantDocument, VariantQuery
from beacon.store.sqlite.structural import MATES, create_mates_table, insert_mates, mate_clause, mate_row
from beacon.variant_ids import gene_key, protein_key

LONG_SPAN = 1000
BIN = 10_000  # bases per bin of the per-version start-count table (`<table>_bins`)
GENE = "gene"
AMINOACID_CHANGE = "aa"
PROTEIN = "protein"  # protein HGVS ids by `protein_key`
RS_ID = "rs"
ANNOTATION_KINDS = frozenset({GENE, AMINOACID_CHANGE, PROTEIN, RS_ID})
"""The kinds of rows in a version's `_annotations` table (value: the lookup key, `beacon.variant_ids`)."""
CASE_LEVEL = "carriers"
CHROMOSOME_KINDS = frozenset({"sequence", "range", "bracket", "id"})
"""Query kinds whose clause names the chromosome: they read the one table holding it."""
_COLUMNS = (
    "variant_id",
    "chromosome",
    "start",
    "end",
    "reference_bases",
    "alternate_bases",
    "norm_start",
    "norm_ref",
    "norm_alt",
    "variant_type",
    "length",
)
# The payload's array positions (`encode_payload`): stored data depends on this order, never reorder it.
_LIST_FIELDS = ("frequencies", "rs_ids", "gene_ids", "aminoacid_changes", "protein_hgvs_ids", "carriers")
# Structural fields, stored together as the payload's seventh array (only when one is set).
_SV_FIELDS = ("cipos", "ciend", "mate_chromosome", "mate_start", "copy_number")
_PAYLOAD_FIELDS = (*_LIST_FIELDS, *_SV_FIELDS)
INSERT_COLUMNS = (*_COLUMNS, "span", "payload")


class VariantLoadError(StoreError):
    """A variant load cannot start or finish (e.g. the dataset already has variants)."""


def table_name(version: int) -> str:
    """The table holding one dataset version's variants (version is an integer we issued)."""
    return f"variants_{int(version)}"


def create_version_table(conn: sqlite3.Connection, version: int) -> None:
    """An empty, unindexed variants table for a new load."""
    conn.execute(
        f"""CREATE TABLE {table_name(version)} (
            variant_id TEXT NOT NULL, chromosome TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
            reference_bases TEXT NOT NULL, alternate_bases TEXT NOT NULL, norm_start INTEGER NOT NULL,
            norm_ref TEXT NOT NULL, norm_alt TEXT NOT NULL, variant_type TEXT NOT NULL, length INTEGER NOT NULL,
            span INTEGER NOT NULL, payload BLOB NOT NULL)"""
    )


def index_statements(version: int) -> list[str]:
    """The indexes of a version table (IF NOT EXISTS: a load may have made them before its rows came)."""
    table = table_name(version)
    return [
        f"CREATE INDEX IF NOT EXISTS {table}_norm_ix ON {table} (chromosome, norm_start, norm_alt, norm_ref)",
        f"CREATE INDEX IF NOT EXISTS {table}_start_ix ON {table} (chromosome, start, end, variant_type, length)",
        f"CREATE INDEX IF NOT EXISTS {table}_long_ix ON {table} (chromosome, start) WHERE span > {LONG_SPAN}",
        f"CREATE INDEX IF NOT EXISTS {table}_annotations_ix ON {table}_annotations (kind, value, rowid_ref)",
        f"CREATE INDEX IF NOT EXISTS {table}_carriers_ix ON {table}_carriers (rowid_ref)",
        f"CREATE INDEX IF NOT EXISTS {table}_biosamples_ix ON {table}_carriers (biosample_id)",
    ]


def encode_payload(document: VariantDocument) -> bytes:
    """The non-indexed part of a document as compact JSON bytes (see `decode_payload`).

    `[frequencies, rs_ids, gene_ids, aminoacid_changes, protein_hgvs_ids, carriers]` without trailing
    empty lists. A frequency whose allele frequency is exactly AC/AN is stored as `[population, AC, AN]`
    (plus the three zygosity counts when any is known), else as all seven fields: the payload is most
    of a row, and a row a quarter of the size makes loads, the store and record reads that much lighter.
    """
    frequencies = [
        ((f[0], f[2], f[3]) if f[4] is None and f[5] is None and f[6] is None else (f[0], f[2], f[3], *f[4:]))
        if f[3] and f[2] is not None and f[1] == f[2] / f[3]
        else tuple(f)  # orjson does not serialise NamedTuples; plain tuples become the same arrays
        for f in document.frequencies
    ]
    sv = _sv_payload(document)
    if sv is not None:
        return orjson.dumps((
            frequencies, document.rs_ids, document.gene_ids, document.aminoacid_changes,
            document.protein_hgvs_ids, document.carriers, sv,
        ))  # fmt: skip
    if document.gene_ids or document.aminoacid_changes or document.protein_hgvs_ids or document.carriers:
        return orjson.dumps((
            frequencies, document.rs_ids, document.gene_ids, document.aminoacid_changes,
            document.protein_hgvs_ids, document.carriers,
        ))  # fmt: skip
    return orjson.dumps((frequencies, document.rs_ids) if document.rs_ids else (frequencies,))


def _sv_payload(document: VariantDocument) -> tuple[Any, ...] | None:
    """The structural fields (`_SV_FIELDS`) when any is set: the payload's seventh array."""
    values = (document.cipos, document.ciend, document.mate_chromosome, document.mate_start, document.copy_number)
    return None if values == (None, None, None, None, None) else values


def decode_payload(payload: bytes) -> dict[str, Any]:
    """The payload fields of a document, from `encode_payload` bytes or the older JSON-object form."""
    stored = orjson.loads(payload)
    if isinstance(stored, dict):  # written before schema version 6: field names and every frequency in full
        fields_of = stored
        frequencies = stored.get("frequencies") or ()
    else:
        fields_of = dict(zip(_LIST_FIELDS[1:], stored[1:6], strict=False))
        frequencies = stored[0] if stored else ()
        if len(stored) > 6:
            fields_of["sv"] = stored[6]
    decoded: dict[str, Any] = {
        name: tuple(tuple(item) if isinstance(item, list) else item for item in value)
        for name, value in fields_of.items()
        if name not in ("frequencies", "sv")
    }
    sv = fields_of.get("sv") or (None,) * len(_SV_FIELDS)
    decoded.update(zip(_SV_FIELDS, (tuple(value) if isinstance(value, list) else value for value in sv), strict=True))
    decoded["frequencies"] = tuple(_decode_frequency(item) for item in frequencies)
    return decoded


def _decode_frequency(item: list[Any]) -> PopulationFrequency:
    if len(item) == 7:
        return PopulationFrequency(*item)
    population, count, number, *zygosity = item
    return PopulationFrequency(population, count / number, count, number, *zygosity)


def decode_document(assembly: str, row: sqlite3.Row | tuple[Any, ...]) -> VariantDocument:
    """A VariantDocument from a stored row (columns in `_COLUMNS` order, then the payload)."""
    values = dict(zip(_COLUMNS, row[: len(_COLUMNS)], strict=True))
    return VariantDocument(assembly=assembly, **values, **decode_payload(row[len(_COLUMNS)]))


@dataclass(frozen=True)
class PreparedBatch:
    """Insert rows of one batch, and the longest short span in it (see `LONG_SPAN`)."""

    variants: list[tuple[Any, ...]]
    annotations: list[tuple[str, str, int]]
    carriers: list[tuple[int, str, str | None]]
    max_short_span: int
    mates: list[tuple[str, int, str, int, int]] = field(default_factory=list)


def prepare_batch(documents: list[VariantDocument], first_rowid: int) -> PreparedBatch:
    """Rows for a batch of documents, with rowids from `first_rowid` on (side tables point at them)."""
    variants = []
    annotations: list[tuple[str, str, int]] = []
    carriers: list[tuple[int, str, str | None]] = []
    max_short_span = 0
    mates = []
    for rowid, d in enumerate(documents, first_rowid):  # one pass: this runs for every variant loaded
        span = d.end - d.start
        variants.append((
            rowid, d.variant_id, d.chromosome, d.start, d.end, d.reference_bases, d.alternate_bases, d.norm_start,
            d.norm_ref, d.norm_alt, d.variant_type, d.length, span, encode_payload(d),
        ))  # fmt: skip
        if max_short_span < span <= LONG_SPAN:
            max_short_span = span
        if d.rs_ids:
            annotations += [(RS_ID, rs_id, rowid) for rs_id in d.rs_ids]
        if d.gene_ids or d.aminoacid_changes:
            annotations += lookup_rows(rowid, d.gene_ids, d.aminoacid_changes, d.protein_hgvs_ids)
        if d.carriers:
            carriers += [(rowid, biosample, zygosity) for biosample, zygosity in d.carriers]
        if d.mate_chromosome is not None and (mate := mate_row(d, rowid)) is not None:
            mates.append(mate)
    return PreparedBatch(variants, annotations, carriers, max_short_span, mates)


def lookup_rows(
    rowid: int, gene_ids: Iterable[str], aminoacid_changes: Iterable[str], protein_hgvs_ids: Iterable[str]
) -> list[tuple[str, str, int]]:
    """The annotation rows of a variant's genes (upper-cased keys), amino-acid changes and protein ids."""
    rows = [(GENE, key, rowid) for key in dict.fromkeys(gene_key(gene) for gene in gene_ids)]
    rows += [(AMINOACID_CHANGE, change, rowid) for change in aminoacid_changes]
    proteins = (protein_key(protein) for protein in protein_hgvs_ids)
    return rows + [(PROTEIN, key, rowid) for key in dict.fromkeys(proteins) if key is not None]


def insert_batch(conn: sqlite3.Connection, version: int, batch: PreparedBatch) -> None:
    """Insert a prepared batch into a version's tables."""
    table = table_name(version)
    placeholders = ", ".join("?" * (len(INSERT_COLUMNS) + 1))
    conn.executemany(
        f"INSERT INTO {table} (rowid, {', '.join(INSERT_COLUMNS)}) VALUES ({placeholders})", batch.variants
    )
    if batch.annotations:
        conn.executemany(
            f"INSERT INTO {table}_annotations (kind, value, rowid_ref) VALUES (?, ?, ?)", batch.annotations
        )
    if batch.carriers:
        conn.executemany(
            f"INSERT INTO {table}_carriers (rowid_ref, biosample_id, zygosity) VALUES (?, ?, ?)", batch.carriers
        )
    insert_mates(conn, table, batch.mates)


def create_side_tables(conn: sqlite3.Connection, version: int) -> None:
    """Gene and carrier tables of a version (rows point at the variants table's rowid)."""
    table = table_name(version)
    conn.execute(
        f"CREATE TABLE {table}_annotations (kind TEXT NOT NULL, value TEXT NOT NULL, rowid_ref INTEGER NOT NULL)"
    )
    conn.execute(
        f"CREATE TABLE {table}_carriers (rowid_ref INTEGER NOT NULL, biosample_id TEXT NOT NULL, zygosity TEXT)"
    )
    create_mates_table(conn, table)


def drop_version(conn: sqlite3.Connection, version: int) -> None:
    """Drop a version's tables (its indexes go with them)."""
    table = table_name(version)
    for suffix in ("", "_annotations", "_carriers", "_bins", MATES):
        conn.execute(f"DROP TABLE IF EXISTS {table}{suffix}")


# -- queries -----------------------------------------------------------------------------------------


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


def create_bins_table(conn: sqlite3.Connection, version: int) -> None:
    """The (empty) bin table of a version: variants starting in each BIN-sized bin, for wide range counts."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table_name(version)}_bins (chromosome TEXT NOT NULL, bin INTEGER NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (chromosome, bin)) WITHOUT ROWID"
    )


def bins_select(version: int, schema: str = "main") -> str:
    """A SELECT of (chromosome, bin, n) counting a version table's variants per bin."""
    return (
        f"SELECT chromosome, start / {BIN}, count(*) FROM {schema}.{table_name(version)} "
        f"GROUP BY chromosome, start / {BIN}"
    )


def build_bins(conn: sqlite3.Connection, version: int) -> None:
    """Count the variants starting in each BIN-sized bin, so wide range counts need not scan them all."""
    create_bins_table(conn, version)
    conn.execute(f"DELETE FROM {table_name(version)}_bins")
    conn.execute(f"INSERT INTO {table_name(version)}_bins (chromosome, bin, n) {bins_select(version)}")


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


def select_columns() -> str:
    """The columns `decode_document` reads, in order."""
    return ", ".join(f"v.{column}" for column in (*_COLUMNS, "payload"))
