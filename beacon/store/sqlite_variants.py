"""Variants in SQLite: one table per dataset version, indexes built once a load is complete.

A load writes `variants_<version>` while the dataset's current version keeps answering; `commit`
builds the indexes, then flips `variant_sets` in one transaction and drops the old table. A killed
load leaves a `loading` row and its table behind, which the next load (or `recover`) removes.

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

import os
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import Any

import orjson

from beacon.store.base import PopulationFrequency, StoreError, UnknownDatasetError, VariantDocument, VariantQuery
from beacon.store.processes import process_alive

LONG_SPAN = 1000
BIN = 10_000  # bases per bin of the per-version start-count table (`<table>_bins`)
GENE = "gene"
AMINOACID_CHANGE = "aa"
CASE_LEVEL = "carriers"
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
_PAYLOAD_FIELDS = tuple(f.name for f in fields(VariantDocument) if f.name not in (*_COLUMNS, "assembly"))
_INSERT_COLUMNS = (*_COLUMNS, "span", "payload")


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
    """The indexes of a version table, built after its rows are in (much faster than during the load)."""
    table = table_name(version)
    return [
        f"CREATE INDEX {table}_norm_ix ON {table} (chromosome, norm_start, norm_alt, norm_ref)",
        f"CREATE INDEX {table}_start_ix ON {table} (chromosome, start, end, variant_type, length)",
        f"CREATE INDEX {table}_long_ix ON {table} (chromosome, start) WHERE span > {LONG_SPAN}",
        f"CREATE INDEX {table}_annotations_ix ON {table}_annotations (kind, value, rowid_ref)",
        f"CREATE INDEX {table}_carriers_ix ON {table}_carriers (rowid_ref)",
        f"CREATE INDEX {table}_biosamples_ix ON {table}_carriers (biosample_id)",
    ]


def encode_payload(document: VariantDocument) -> bytes:
    """The non-indexed part of a document (frequencies, ids, annotations, carriers) as JSON bytes."""
    payload = {name: getattr(document, name) for name in _PAYLOAD_FIELDS}
    # orjson does not serialise NamedTuples; plain tuples become the same JSON arrays.
    payload["frequencies"] = [tuple(frequency) for frequency in document.frequencies]
    return orjson.dumps(payload)


def row_values(document: VariantDocument) -> tuple[Any, ...]:
    """One insert row for a document."""
    return (
        document.variant_id,
        document.chromosome,
        document.start,
        document.end,
        document.reference_bases,
        document.alternate_bases,
        document.norm_start,
        document.norm_ref,
        document.norm_alt,
        document.variant_type,
        document.length,
        document.end - document.start,
        encode_payload(document),
    )


def decode_document(assembly: str, row: sqlite3.Row | tuple[Any, ...]) -> VariantDocument:
    """A VariantDocument from a stored row (columns in `_COLUMNS` order, then the payload)."""
    values = dict(zip(_COLUMNS, row[: len(_COLUMNS)], strict=True))
    payload = orjson.loads(row[len(_COLUMNS)])
    payload["frequencies"] = tuple(PopulationFrequency(*item) for item in payload.get("frequencies") or ())
    for name, value in payload.items():
        if isinstance(value, list) and name != "frequencies":
            payload[name] = tuple(tuple(item) if isinstance(item, list) else item for item in value)
    return VariantDocument(assembly=assembly, **values, **payload)


@dataclass(frozen=True)
class PreparedBatch:
    """Insert rows of one batch, built by the loading thread so the writer thread mostly runs SQLite."""

    variants: list[tuple[Any, ...]]
    annotations: list[tuple[str, str, int]]
    carriers: list[tuple[int, str, str | None]]


def prepare_batch(documents: list[VariantDocument], first_rowid: int) -> PreparedBatch:
    """Rows for a batch of documents, with rowids from `first_rowid` on (side tables point at them)."""
    numbered = list(enumerate(documents, first_rowid))
    return PreparedBatch(
        variants=[(rowid, *row_values(d)) for rowid, d in numbered],
        annotations=[
            (kind, value, rowid)
            for rowid, d in numbered
            for kind, values in ((GENE, d.gene_ids), (AMINOACID_CHANGE, d.aminoacid_changes))
            for value in values
        ],
        carriers=[(rowid, biosample, zygosity) for rowid, d in numbered for biosample, zygosity in d.carriers],
    )


def insert_batch(conn: sqlite3.Connection, version: int, batch: PreparedBatch) -> None:
    """Insert a prepared batch into a version's tables."""
    table = table_name(version)
    placeholders = ", ".join("?" * (len(_INSERT_COLUMNS) + 1))
    conn.executemany(
        f"INSERT INTO {table} (rowid, {', '.join(_INSERT_COLUMNS)}) VALUES ({placeholders})", batch.variants
    )
    if batch.annotations:
        conn.executemany(
            f"INSERT INTO {table}_annotations (kind, value, rowid_ref) VALUES (?, ?, ?)", batch.annotations
        )
    if batch.carriers:
        conn.executemany(
            f"INSERT INTO {table}_carriers (rowid_ref, biosample_id, zygosity) VALUES (?, ?, ?)", batch.carriers
        )


def create_side_tables(conn: sqlite3.Connection, version: int) -> None:
    """Gene and carrier tables of a version (rows point at the variants table's rowid)."""
    table = table_name(version)
    conn.execute(
        f"CREATE TABLE {table}_annotations (kind TEXT NOT NULL, value TEXT NOT NULL, rowid_ref INTEGER NOT NULL)"
    )
    conn.execute(
        f"CREATE TABLE {table}_carriers (rowid_ref INTEGER NOT NULL, biosample_id TEXT NOT NULL, zygosity TEXT)"
    )


def drop_version(conn: sqlite3.Connection, version: int) -> None:
    """Drop a version's tables (its indexes go with them)."""
    table = table_name(version)
    for suffix in ("", "_annotations", "_carriers", "_bins"):
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


def build_bins(conn: sqlite3.Connection, version: int) -> None:
    """Count the variants starting in each BIN-sized bin, so wide range counts need not scan them all."""
    table = table_name(version)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table}_bins (chromosome TEXT NOT NULL, bin INTEGER NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (chromosome, bin)) WITHOUT ROWID"
    )
    conn.execute(f"DELETE FROM {table}_bins")
    conn.execute(
        f"INSERT INTO {table}_bins (chromosome, bin, n) "
        f"SELECT chromosome, start / {BIN}, count(*) FROM {table} GROUP BY chromosome, start / {BIN}"
    )


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
    return "v.variant_id = ?", [query.variant_id]


def _all_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    return "1", []


_KIND_CLAUSES = {
    "sequence": _sequence_clause,
    "range": _range_clause,
    "bracket": _bracket_clause,
    "gene": _gene_clause,
    "id": _id_clause,
    "all": _all_clause,
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
    for kind, value in ((GENE, query.gene_id), (AMINOACID_CHANGE, query.aminoacid_change)):
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
    return f"SELECT {what} FROM {table} v WHERE {where}"


def select_columns() -> str:
    """The columns `decode_document` reads, in order."""
    return ", ".join(f"v.{column}" for column in (*_COLUMNS, "payload"))


# -- loads -------------------------------------------------------------------------------------------

WriteTransaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


class SqliteVariantLoad:
    """A variant load into a new, invisible version of one dataset (see the module docstring).

    Batches are written in the loading thread: a background writer thread was measured slower, because
    sqlite3 releases and retakes the GIL for every row and so fights the converting thread for it.
    """

    def __init__(self, write: WriteTransaction, dataset_id: str, *, replace: bool = False) -> None:
        self._write = write
        self.dataset_id = dataset_id
        self._next_rowid = 1
        self._assembly: str | None = None
        with write() as conn:
            _check_can_load(conn, dataset_id, replace)
            _drop_abandoned_loads(conn, dataset_id)
            self.version = conn.execute(
                "INSERT INTO variant_sets (dataset_id, state, loader_pid) VALUES (?, 'loading', ?)",
                (dataset_id, os.getpid()),
            ).lastrowid
            create_version_table(conn, self.version)
            create_side_tables(conn, self.version)
        self.open = True

    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Write one batch in its own transaction; returns how many were written."""
        batch = list(documents)
        self._check_assembly(batch)
        prepared = prepare_batch(batch, self._next_rowid)
        with self._write() as conn:
            insert_batch(conn, self.version, prepared)
        self._next_rowid += len(batch)
        return len(batch)

    def _check_assembly(self, batch: list[VariantDocument]) -> None:
        for document in batch:
            if self._assembly is None:
                self._assembly = document.assembly
            elif document.assembly != self._assembly:
                raise VariantLoadError(f"one load holds one assembly: got {document.assembly} after {self._assembly}")

    def commit(self) -> None:
        """Build the indexes, then make this version current and drop the previous one, atomically."""
        self.open = False
        with self._write() as conn:
            for statement in index_statements(self.version):
                conn.execute(statement)
            build_bins(conn, self.version)
            # Statistics let the planner pick the allele index over the position index; sampled, so cheap.
            conn.execute("PRAGMA analysis_limit = 2000")
            conn.execute(f"ANALYZE {table_name(self.version)}")
            table = table_name(self.version)
            count, short_span = conn.execute(
                f"SELECT count(*), coalesce(max(CASE WHEN span <= {LONG_SPAN} THEN span END), 0) FROM {table}"
            ).fetchone()
            kinds = [k for (k,) in conn.execute(f"SELECT DISTINCT kind FROM {table}_annotations ORDER BY 1")]
            if conn.execute(f"SELECT 1 FROM {table}_carriers LIMIT 1").fetchone():
                kinds.append(CASE_LEVEL)
            previous = [
                row[0]
                for row in conn.execute(
                    "SELECT version FROM variant_sets WHERE dataset_id = ? AND state = 'current'", (self.dataset_id,)
                )
            ]
            for version in previous:
                drop_version(conn, version)
            conn.execute("DELETE FROM variant_sets WHERE dataset_id = ? AND state = 'current'", (self.dataset_id,))
            conn.execute(
                "UPDATE variant_sets SET state = 'current', assembly = ?, variant_count = ?, max_short_span = ?,"
                " annotations = ?, loader_pid = NULL WHERE version = ?",
                (self._assembly, count, short_span, ",".join(kinds), self.version),
            )

    def abort(self) -> None:
        """Drop the new version; the previous one keeps answering (nothing to do once committed)."""
        if not self.open:
            return
        self.open = False
        with self._write() as conn:
            drop_version(conn, self.version)
            conn.execute("DELETE FROM variant_sets WHERE version = ? AND state = 'loading'", (self.version,))


def _check_can_load(conn: sqlite3.Connection, dataset_id: str, replace: bool) -> None:
    if not conn.execute("SELECT 1 FROM records WHERE entity = 'datasets' AND id = ?", (dataset_id,)).fetchone():
        raise UnknownDatasetError(dataset_id)
    current = conn.execute(
        "SELECT variant_count FROM variant_sets WHERE dataset_id = ? AND state = 'current'", (dataset_id,)
    ).fetchone()
    if current and not replace:
        raise VariantLoadError(f"dataset {dataset_id!r} already has {current[0]} variants; use --replace to swap them")


def _drop_abandoned_loads(conn: sqlite3.Connection, dataset_id: str) -> None:
    rows = conn.execute(
        "SELECT version, loader_pid FROM variant_sets WHERE dataset_id = ? AND state = 'loading'", (dataset_id,)
    ).fetchall()
    for version, pid in rows:
        if pid is not None and pid != os.getpid() and process_alive(pid):
            raise VariantLoadError(f"another load of dataset {dataset_id!r} is running (process {pid})")
        drop_version(conn, version)
        conn.execute("DELETE FROM variant_sets WHERE version = ?", (version,))
