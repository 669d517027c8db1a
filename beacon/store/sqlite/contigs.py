"""A dataset version as a set of chromosomes, each kept in a table: incremental loads cost their input.

`variant_contigs` maps each chromosome of a version to the table holding its variants
(`variants_<table_version>`, named after the load that wrote it), with its variant count and longest
short span. A load writes its input into a new table; `switch` (in the load's commit transaction)
builds the new version's map from the current one's (`LoadMode`):
- `new`/`replace`: every chromosome of the input maps to the new table, nothing is kept;
- `add`: chromosomes only the input holds map to the new table; for those the current version holds
  already, the input's rows move into the current table (after the duplicate check), so an addition
  costs its input, never the variants already loaded;
- `replace-contigs`: the input's chromosomes map to the new table; their rows leave the tables that
  keep other chromosomes, and a table no chromosome maps to any more is dropped.
Tables are never shared between datasets, and only the current version of a dataset maps to a table
once the switch is committed, so rows can move in that transaction: readers keep their snapshot.
Bins (`<table>_bins`) are keyed by chromosome and move with the rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from beacon.store.base import DuplicateVariantsError, LoadMode
from beacon.store.sqlite.structural import MATES
from beacon.store.sqlite.variants import (
    ANNOTATION_KINDS,
    CASE_LEVEL,
    INSERT_COLUMNS,
    LONG_SPAN,
    drop_version,
    table_name,
)

DUPLICATE_EXAMPLES = 3  # variant ids quoted in a duplicate error


@dataclass(frozen=True)
class Contig:
    """Where one chromosome of a version lives, and what the range queries need to know of it."""

    table_version: int
    variant_count: int
    max_short_span: int


def create_contig_map(conn: sqlite3.Connection) -> None:
    """Schema step (incremental loads): the `variant_contigs` table, filled for the current variant sets."""
    # IF NOT EXISTS / OR IGNORE: a migration may meet a file that has the table already (one whose
    # version number was set back by hand, as the fault tests do); it then adds what is missing.
    conn.execute(
        """CREATE TABLE IF NOT EXISTS variant_contigs (
            version INTEGER NOT NULL,
            chromosome TEXT NOT NULL,
            table_version INTEGER NOT NULL,
            variant_count INTEGER NOT NULL,
            max_short_span INTEGER NOT NULL,
            PRIMARY KEY (version, chromosome)
        ) WITHOUT ROWID"""
    )
    for (version,) in conn.execute("SELECT version FROM variant_sets WHERE state = 'current'").fetchall():
        contigs = {c: Contig(version, n, s) for c, (n, s) in table_contigs(conn, version).items()}
        write_contigs(conn, version, contigs, or_ignore=True)


def table_contigs(conn: sqlite3.Connection, table_version: int) -> dict[str, tuple[int, int]]:
    """Chromosome -> (variants, longest short span) of one table (a covering scan of its start index)."""
    rows = conn.execute(
        f"SELECT chromosome, count(*), max(CASE WHEN end - start <= {LONG_SPAN} THEN end - start ELSE 0 END) "
        f"FROM {table_name(table_version)} GROUP BY chromosome"
    )
    return {chromosome: (count, span) for chromosome, count, span in rows}


def read_contigs(conn: sqlite3.Connection, version: int) -> dict[str, Contig]:
    """The chromosome map of a version."""
    rows = conn.execute(
        "SELECT chromosome, table_version, variant_count, max_short_span FROM variant_contigs WHERE version = ?",
        (version,),
    )
    return {chromosome: Contig(table, count, span) for chromosome, table, count, span in rows}


def write_contigs(conn: sqlite3.Connection, version: int, contigs: dict[str, Contig], or_ignore: bool = False) -> None:
    """Record a version's chromosome map (`or_ignore`: keep the chromosomes already recorded)."""
    conn.executemany(
        f"INSERT {'OR IGNORE ' if or_ignore else ''}INTO variant_contigs"
        " (version, chromosome, table_version, variant_count, max_short_span) VALUES (?, ?, ?, ?, ?)",
        [(version, c, x.table_version, x.variant_count, x.max_short_span) for c, x in contigs.items()],
    )


def switch(
    conn: sqlite3.Connection, dataset_id: str, version: int, mode: LoadMode, previous: int | None
) -> dict[str, Contig]:
    """Build and record the new version's chromosome map from the previous version's; returns it.

    Raises DuplicateVariantsError (in mode `add`) when the input holds variants already loaded; the
    caller's transaction then rolls back whatever moved.
    """
    current = read_contigs(conn, previous) if previous is not None else {}
    kept = current if mode in ("add", "replace-contigs") else {}
    incoming = {c: Contig(version, n, s) for c, (n, s) in table_contigs(conn, version).items()}
    if mode == "add":
        _refuse_present(conn, dataset_id, version, {c: kept[c] for c in incoming if c in kept})
        contigs = dict(kept)
        for chromosome, contig in incoming.items():
            contigs[chromosome] = _merged(conn, version, chromosome, contig, kept.get(chromosome))
    else:
        contigs = {**kept, **incoming}
        still_used = {contig.table_version for contig in contigs.values()}
        for chromosome in incoming.keys() & kept.keys():
            if kept[chromosome].table_version in still_used:
                delete_chromosome(conn, kept[chromosome].table_version, chromosome)
    write_contigs(conn, version, contigs)
    used = {contig.table_version for contig in contigs.values()}
    for table_version in {c.table_version for c in current.values()} | {version}:
        if table_version not in used:
            drop_version(conn, table_version)
    return contigs


def _merged(
    conn: sqlite3.Connection, version: int, chromosome: str, incoming: Contig, present: Contig | None
) -> Contig:
    if present is None:
        return incoming
    move_chromosome(conn, version, present.table_version, chromosome)
    return Contig(
        present.table_version,
        present.variant_count + incoming.variant_count,
        max(present.max_short_span, incoming.max_short_span),
    )


def _refuse_present(conn: sqlite3.Connection, dataset_id: str, version: int, present: dict[str, Contig]) -> None:
    """DuplicateVariantsError when rows of the new table are already in the current version."""
    count, examples = 0, []
    for chromosome, contig in present.items():
        match = (
            f"FROM {table_name(version)} n WHERE n.chromosome = ? AND EXISTS (SELECT 1 FROM "
            f"{table_name(contig.table_version)} o WHERE o.chromosome = n.chromosome AND o.start = n.start"
            " AND o.variant_id = n.variant_id)"
        )
        count += conn.execute(f"SELECT count(*) {match}", (chromosome,)).fetchone()[0]
        if len(examples) < DUPLICATE_EXAMPLES:
            limit = DUPLICATE_EXAMPLES - len(examples)
            examples += [row[0] for row in conn.execute(f"SELECT n.variant_id {match} LIMIT {limit}", (chromosome,))]
    if count:
        raise DuplicateVariantsError(
            f"dataset {dataset_id!r} already has {count} of the variants of this load (e.g. {', '.join(examples)}); "
            "nothing was loaded. Leave them out of the input, or use --replace-contigs to replace "
            "the chromosomes of the input",
            count,
            examples,
        )


def find_duplicates(conn: sqlite3.Connection, version: int, chromosomes: Iterable[str]) -> None:
    """DuplicateVariantsError when the new table holds a variant id twice on one of these chromosomes."""
    table = table_name(version)
    pairs = (
        f"FROM {table} a JOIN {table} b ON b.chromosome = a.chromosome AND b.start = a.start"
        " AND b.rowid > a.rowid AND b.variant_id = a.variant_id WHERE a.chromosome = ?"
    )
    count, examples, ordinals = 0, [], None
    for chromosome in sorted(chromosomes):
        count += conn.execute(f"SELECT count(DISTINCT a.rowid) {pairs}", (chromosome,)).fetchone()[0]
        for variant_id, first, second in conn.execute(
            f"SELECT a.variant_id, a.rowid, b.rowid {pairs} LIMIT {DUPLICATE_EXAMPLES}", (chromosome,)
        ):
            if ordinals is None:
                ordinals = (first, second)
            if len(examples) < DUPLICATE_EXAMPLES:
                examples.append(variant_id)
    if count:
        raise DuplicateVariantsError(
            f"this load holds {count} variant(s) twice (e.g. {', '.join(examples)})", count, examples, ordinals
        )


def move_chromosome(conn: sqlite3.Connection, source: int, target: int, chromosome: str) -> None:
    """Move one chromosome's rows (side tables and bins too) from table `source` to table `target`."""
    src, dst = table_name(source), table_name(target)
    (offset,) = conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {dst}").fetchone()
    columns = ", ".join(INSERT_COLUMNS)
    rows = f"(SELECT rowid FROM {src} WHERE chromosome = ?)"
    conn.execute(
        f"INSERT INTO {dst} (rowid, {columns}) SELECT rowid + ?, {columns} FROM {src} WHERE chromosome = ?",
        (offset, chromosome),
    )
    conn.execute(
        f"INSERT INTO {dst}_annotations (kind, value, rowid_ref) SELECT kind, value, rowid_ref + ? "
        f"FROM {src}_annotations WHERE rowid_ref IN {rows}",
        (offset, chromosome),
    )
    conn.execute(
        f"INSERT INTO {dst}_carriers (rowid_ref, biosample_id, zygosity) SELECT rowid_ref + ?, biosample_id, "
        f"zygosity FROM {src}_carriers WHERE rowid_ref IN {rows}",
        (offset, chromosome),
    )
    conn.execute(
        f"INSERT INTO {dst}{MATES} (chromosome, start, mate_chromosome, mate_start, rowid_ref) SELECT chromosome, "
        f"start, mate_chromosome, mate_start, rowid_ref + ? FROM {src}{MATES} WHERE rowid_ref IN {rows}",
        (offset, chromosome),
    )
    conn.execute(
        f"INSERT INTO {dst}_bins (chromosome, bin, n) SELECT chromosome, bin, n FROM {src}_bins "
        "WHERE chromosome = ? ON CONFLICT (chromosome, bin) DO UPDATE SET n = n + excluded.n",
        (chromosome,),
    )
    delete_chromosome(conn, source, chromosome)


def delete_chromosome(conn: sqlite3.Connection, table_version: int, chromosome: str) -> None:
    """Delete one chromosome's rows, side rows and bins from a table."""
    table = table_name(table_version)
    rows = f"(SELECT rowid FROM {table} WHERE chromosome = ?)"
    conn.execute(f"DELETE FROM {table}_annotations WHERE rowid_ref IN {rows}", (chromosome,))
    conn.execute(f"DELETE FROM {table}_carriers WHERE rowid_ref IN {rows}", (chromosome,))
    conn.execute(f"DELETE FROM {table}{MATES} WHERE rowid_ref IN {rows}", (chromosome,))
    conn.execute(f"DELETE FROM {table}_bins WHERE chromosome = ?", (chromosome,))
    conn.execute(f"DELETE FROM {table} WHERE chromosome = ?", (chromosome,))


def annotation_kinds(conn: sqlite3.Connection, table_versions: Iterable[int]) -> list[str]:
    """What the tables' variants carry besides frequencies: `aa`, `gene`, `protein`, `rs`, `carriers`."""
    tables = [table_name(version) for version in sorted(set(table_versions))]
    # One index probe per kind and table: a table holds a row per rsID, so reading it all would take long.
    probe = "SELECT 1 FROM {}_annotations WHERE kind = ? LIMIT 1"
    kinds = [
        kind
        for kind in sorted(ANNOTATION_KINDS)
        if any(conn.execute(probe.format(table), (kind,)).fetchone() for table in tables)
    ]
    if any(conn.execute(f"SELECT 1 FROM {table}_carriers LIMIT 1").fetchone() for table in tables):
        kinds.append(CASE_LEVEL)
    return kinds


def dataset_tables(conn: sqlite3.Connection, dataset_id: str) -> set[int]:
    """Every table number a dataset's variant sets use: their own and those their chromosomes map to."""
    rows = conn.execute(
        "SELECT version FROM variant_sets WHERE dataset_id = :d UNION SELECT c.table_version FROM variant_contigs c "
        "JOIN variant_sets s ON s.version = c.version WHERE s.dataset_id = :d",
        {"d": dataset_id},
    )
    return {version for (version,) in rows}


def forget_version(conn: sqlite3.Connection, version: int) -> None:
    """Delete a version's chromosome map (its tables are dropped by the caller)."""
    conn.execute("DELETE FROM variant_contigs WHERE version = ?", (version,))
