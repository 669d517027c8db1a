"""Structural variants in SQLite: breakend mates (side table `<table>_mates`) and the long-event index.

A breakend's mate is looked up through `<table>_mates (chromosome, start, mate_chromosome,
mate_start, rowid_ref)`, indexed by `(chromosome, mate_chromosome, start, mate_start)`, so a
`mateName` query reads only breakends. Range queries find variants longer than LONG_SPAN through a
covering partial index on `(chromosome, start, end, span)`: its entries answer `end > q.start` without
reading rows, which keeps many megabase SVs cheap among millions of small variants.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from beacon.store.base import VariantDocument, VariantQuery

MATES = "_mates"


def create_mates_table(conn: sqlite3.Connection, table: str) -> None:
    """The (empty) mates table of a version table."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table}{MATES} (chromosome TEXT NOT NULL, start INTEGER NOT NULL,"
        " mate_chromosome TEXT NOT NULL, mate_start INTEGER NOT NULL, rowid_ref INTEGER NOT NULL)"
    )


def structural_index_statements(table: str, long_span: int) -> list[str]:
    """The mates index and the covering index of long variants (IF NOT EXISTS)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {table}_mates_ix ON {table}{MATES}"
        " (chromosome, mate_chromosome, start, mate_start, rowid_ref)",
        f"CREATE INDEX IF NOT EXISTS {table}_long_end_ix ON {table} (chromosome, start, end, span)"
        f" WHERE span > {long_span}",
    ]


def mate_row(document: VariantDocument, rowid: int) -> tuple[str, int, str, int, int] | None:
    """The mates row of a breakend with a known mate, else None."""
    if document.mate_chromosome is None or document.mate_start is None:
        return None
    return (document.chromosome, document.start, document.mate_chromosome, document.mate_start, rowid)


def insert_mates(conn: sqlite3.Connection, table: str, rows: list[tuple[str, int, str, int, int]]) -> None:
    """Insert mates rows."""
    if rows:
        conn.executemany(
            f"INSERT INTO {table}{MATES} (chromosome, start, mate_chromosome, mate_start, rowid_ref)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def merge_mates(conn: sqlite3.Connection, table: str, part: str, offset: int) -> None:
    """Copy an attached part's mates, rowids shifted by `offset`."""
    conn.execute(
        f"INSERT INTO {table}{MATES} (chromosome, start, mate_chromosome, mate_start, rowid_ref) "
        f"SELECT chromosome, start, mate_chromosome, mate_start, rowid_ref + ? FROM {part}{MATES}",
        (offset,),
    )


def mate_clause(query: VariantQuery, _max_span: int) -> tuple[str, list[Any]]:
    """Breakends on the query's chromosome and start bracket whose mate is in the mate bracket."""
    clause = (
        "v.rowid IN (SELECT m.rowid_ref FROM {mates} m WHERE m.chromosome = ? AND m.mate_chromosome = ?"
        " AND m.start >= ? AND m.start < ? AND m.mate_start >= ? AND m.mate_start < ?)"
    )
    return clause, [
        query.chromosome,
        query.mate_chromosome,
        query.start,
        query.start_max,
        query.mate_start,
        query.mate_start_max,
    ]
