"""Variants in SQLite: one table per dataset version (rows, payload, bins); queries are built in
`sqlite_variant_queries`, loads are in `sqlite_loads`.

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

from beacon.store.base import PopulationFrequency, StoreError, VariantDocument
from beacon.store.sqlite.structural import MATES, create_mates_table, insert_mates, mate_row
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


def select_columns() -> str:
    """The columns `decode_document` reads, in order."""
    return ", ".join(f"v.{column}" for column in (*_COLUMNS, "payload"))
