"""What `beacon datasets show` reads from a SQLite store: variant counts per chromosome and type, load history.

The history is a small table (`load_history`, schema version 10) of one JSON entry per load, written by
the loader after its switch; the counts are grouped from the tables holding the current version's
chromosomes (`variant_contigs`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from beacon.store.base import VariantStatistics
from beacon.store.sqlite.contigs import read_contigs
from beacon.store.sqlite.variants import table_name

_CURRENT = "SELECT version, assembly FROM variant_sets WHERE dataset_id = ? AND state = 'current'"


def variant_statistics(conn: sqlite3.Connection, dataset_id: str) -> VariantStatistics | None:
    """Counts of the dataset's current variants per chromosome (karyotype order) and type; None without any."""
    current = conn.execute(_CURRENT, (dataset_id,)).fetchone()
    if current is None:
        return None
    version, assembly = current
    tables: dict[int, list[str]] = {}
    for chromosome, contig in read_contigs(conn, version).items():
        tables.setdefault(contig.table_version, []).append(chromosome)
    rows: list[tuple[str, str, int]] = []
    for table_version, chromosomes in sorted(tables.items()):
        # A version's chromosomes may live in several tables (incremental loads); each counts its own.
        marks = ",".join("?" * len(chromosomes))
        rows += conn.execute(
            f"SELECT chromosome, variant_type, count(*) FROM {table_name(table_version)}"
            f" WHERE chromosome IN ({marks}) GROUP BY chromosome, variant_type",
            chromosomes,
        ).fetchall()
    return VariantStatistics.from_counts(assembly, rows)


def record_load(conn: sqlite3.Connection, dataset_id: str, entry: Mapping[str, Any]) -> None:
    """Append one entry to the dataset's load history (inside the caller's write transaction)."""
    recorded_at = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO load_history (dataset_id, recorded_at, entry) VALUES (?, ?, ?)",
        (dataset_id, recorded_at, json.dumps(dict(entry))),
    )


def load_history(conn: sqlite3.Connection, dataset_id: str) -> list[dict[str, Any]]:
    """The dataset's load history entries, oldest first."""
    rows = conn.execute("SELECT entry FROM load_history WHERE dataset_id = ? ORDER BY rowid", (dataset_id,)).fetchall()
    return [json.loads(entry) for (entry,) in rows]
