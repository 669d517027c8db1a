"""The SQLite schema, its migrations and the SQL statements of the metadata side.

`PRAGMA user_version` holds the schema version; `migrate` brings an older file up to date in one
transaction, so a half-migrated file cannot exist.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from beacon.store.base import StoreError

SCHEMA_VERSION = 12

# A migration step is an SQL statement or, for data migrations, a function of the connection.
_MIGRATIONS: dict[int, tuple[str | Callable[[sqlite3.Connection], None], ...]] = {
    1: (
        # Every metadata record as JSON; a dataset record's dataset_id is its own id.
        """CREATE TABLE records (
            entity TEXT NOT NULL,
            id TEXT NOT NULL,
            dataset_id TEXT NOT NULL,
            doc TEXT NOT NULL,
            PRIMARY KEY (entity, id)
        ) WITHOUT ROWID""",
        "CREATE INDEX records_by_dataset ON records (entity, dataset_id, id)",
        # Ontology terms found in each record: answers ontology filters and /filtering_terms.
        """CREATE TABLE record_terms (
            entity TEXT NOT NULL,
            term_id TEXT NOT NULL,
            dataset_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            PRIMARY KEY (entity, term_id, dataset_id, record_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX record_terms_by_record ON record_terms (entity, record_id)",
        "CREATE TABLE terms (term_id TEXT PRIMARY KEY, label TEXT) WITHOUT ROWID",
    ),
    2: (
        # One row per variant load of a dataset; only the 'current' one answers queries. Its variants
        # live in the table variants_<version> (see sqlite_variants).
        """CREATE TABLE variant_sets (
            version INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('loading', 'current')),
            assembly TEXT,
            loader_pid INTEGER,
            variant_count INTEGER NOT NULL DEFAULT 0,
            max_short_span INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX variant_sets_current ON variant_sets (dataset_id) WHERE state = 'current'",
    ),
    3: (
        # Scalar leaves of each record (`indexing.extract_values`): answers alphanumeric filters. `text`
        # is NULL for JSON numbers, `number` is NULL for strings; durations have both (length in days).
        """CREATE TABLE record_values (
            entity TEXT NOT NULL,
            dataset_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            path TEXT NOT NULL,
            text TEXT,
            number REAL
        )""",
        "CREATE INDEX record_values_by_number ON record_values (entity, path, number)",
        "CREATE INDEX record_values_by_text ON record_values (entity, path, text)",
        "CREATE INDEX record_values_by_record ON record_values (entity, record_id)",
        # Loaded ontologies (`beacon load ontology`): the resource as JSON and the is_a hierarchy.
        """CREATE TABLE ontologies (
            id TEXT PRIMARY KEY,
            resource TEXT NOT NULL,
            stamp INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE ontology_terms (
            ontology_id TEXT NOT NULL,
            term_id TEXT NOT NULL,
            label TEXT,
            parents TEXT NOT NULL,
            PRIMARY KEY (ontology_id, term_id)
        ) WITHOUT ROWID""",
        lambda conn: _index_stored_values(conn),  # records loaded before this version
    ),
    4: (
        # Which annotation kinds ('gene', 'aa') a variant set carries: geneId/aminoacidChange queries on
        # data without them are refused instead of silently finding nothing.
        "ALTER TABLE variant_sets ADD COLUMN annotations TEXT NOT NULL DEFAULT ''",
    ),
    5: (
        # Start counts per bin of each current variant set: wide range counts add bins up.
        lambda conn: _bin_current_variant_sets(conn),
    ),
    6: (
        # Variant payloads are written as compact arrays from now on; older JSON-object payloads are
        # still read as they are, so nothing is rewritten. The version only stops an older beacon
        # from opening a store it could not read.
        "SELECT 1",
    ),
    7: (
        # Where a variant set's frequencies come from (`FrequencySource.to_json`, from a populations
        # map), NULL when its load named none: records then name the dataset.
        "ALTER TABLE variant_sets ADD COLUMN frequency_source TEXT",
    ),
    8: (
        # Variant sets loaded before version 4 keep their genes in variants_<v>_genes, which nothing
        # reads since, and those loaded before version 5 do not name their carriers: gene queries were
        # refused and case-level data went unreported. Both move to the current layout.
        lambda conn: _upgrade_variant_side_tables(conn),
    ),
    9: (
        # Lookups by rsID (`variantAlternativeId`), by gene in any case or id, by protein HGVS id: the
        # annotations table gets rows for rsIDs and protein ids, and gene rows become upper-case keys.
        lambda conn: _index_variant_lookups(conn),
    ),
    10: (
        # What each load of a dataset was (`beacon datasets show`): files, checksums, counts.
        lambda conn: _create_load_history(conn),
    ),
    11: (
        # Incremental loads (`load vcf --add`, `--replace-contigs`): a version maps each chromosome to
        # the table holding it (`sqlite_contigs`); a current set's table holds all its chromosomes.
        lambda conn: _incremental_loads(conn),
    ),
    12: (
        # Structural variants: a breakend mates table per variant set, and a covering index of long
        # variants so range queries over many megabase SVs read no rows (sqlite/structural.py).
        lambda conn: _add_structural_variant_tables(conn),
    ),
}


def _index_variant_lookups(conn: sqlite3.Connection) -> None:
    from beacon.store.sqlite.contigs import annotation_kinds
    from beacon.store.sqlite.variants import GENE, RS_ID, decode_payload, lookup_rows, table_name

    for version, state in conn.execute("SELECT version, state FROM variant_sets").fetchall():
        table = table_name(version)
        if not _has_table(conn, f"{table}_annotations"):
            continue
        conn.execute(f"DELETE FROM {table}_annotations WHERE kind = ?", (GENE,))
        rows: list[tuple[str, str, int]] = []
        for rowid, payload in conn.execute(f"SELECT rowid, payload FROM {table}"):
            fields = decode_payload(payload)
            rows += [(RS_ID, rs_id, rowid) for rs_id in fields.get("rs_ids", ())]
            # Amino-acid change rows are kept as they are; gene rows are written again as keys.
            rows += lookup_rows(rowid, fields.get("gene_ids", ()), (), fields.get("protein_hgvs_ids", ()))
            if len(rows) >= 50_000:
                conn.executemany(f"INSERT INTO {table}_annotations (kind, value, rowid_ref) VALUES (?, ?, ?)", rows)
                rows = []
        conn.executemany(f"INSERT INTO {table}_annotations (kind, value, rowid_ref) VALUES (?, ?, ?)", rows)
        if state == "current":
            kinds = ",".join(annotation_kinds(conn, [version]))
            conn.execute("UPDATE variant_sets SET annotations = ? WHERE version = ?", (kinds, version))


def _create_load_history(conn: sqlite3.Connection) -> None:
    # IF NOT EXISTS: a file whose version was set back (a restored or downgraded copy) may have the table already.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS load_history"
        " (dataset_id TEXT NOT NULL, recorded_at TEXT NOT NULL, entry TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS load_history_by_dataset ON load_history (dataset_id)")


def _incremental_loads(conn: sqlite3.Connection) -> None:
    from beacon.store.sqlite.contigs import create_contig_map

    create_contig_map(conn)


def _add_structural_variant_tables(conn: sqlite3.Connection) -> None:
    """Every variant table gets an (empty) mates table; those of current sets the new indexes."""
    from beacon.store.sqlite.structural import create_mates_table, structural_index_statements
    from beacon.store.sqlite.variants import LONG_SPAN, table_name

    # Since incremental loads (schema 11) a current set's chromosomes may live in other loads' tables.
    rows = conn.execute(
        "SELECT s.version, s.state = 'current' FROM variant_sets s UNION ALL SELECT c.table_version, "
        "s.state = 'current' FROM variant_contigs c JOIN variant_sets s ON s.version = c.version"
    ).fetchall()
    current = {version for version, is_current in rows if is_current}
    for version in sorted({version for version, _ in rows}):
        table = table_name(version)
        if not _has_table(conn, table):
            continue  # a version whose own table was dropped: its chromosomes live in other tables
        create_mates_table(conn, table)
        if version in current:
            for statement in structural_index_statements(table, LONG_SPAN):
                conn.execute(statement)


def _upgrade_variant_side_tables(conn: sqlite3.Connection) -> None:
    from beacon.store.sqlite.contigs import annotation_kinds
    from beacon.store.sqlite.variants import GENE, index_statements, table_name

    for version, state in conn.execute("SELECT version, state FROM variant_sets").fetchall():
        table = table_name(version)
        if _has_table(conn, f"{table}_genes"):
            conn.execute(
                f"CREATE TABLE {table}_annotations"
                " (kind TEXT NOT NULL, value TEXT NOT NULL, rowid_ref INTEGER NOT NULL)"
            )
            conn.execute(f"INSERT INTO {table}_annotations SELECT ?, gene_id, rowid_ref FROM {table}_genes", (GENE,))
            conn.execute(f"DROP TABLE {table}_genes")
        if state == "current":  # a dead load's tables go with it when the next load starts
            for statement in index_statements(version):
                conn.execute(statement)
            kinds = ",".join(annotation_kinds(conn, [version]))
            conn.execute("UPDATE variant_sets SET annotations = ? WHERE version = ?", (kinds, version))


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _bin_current_variant_sets(conn: sqlite3.Connection) -> None:
    from beacon.store.sqlite.variants import build_bins

    for (version,) in conn.execute("SELECT version FROM variant_sets WHERE state = 'current'").fetchall():
        build_bins(conn, version)


def _index_stored_values(conn: sqlite3.Connection) -> None:
    from beacon.query.indexing import extract_values

    records = conn.execute("SELECT entity, id, dataset_id, doc FROM records").fetchall()
    for entity, record_id, dataset_id, doc in records:
        rows = value_rows(entity, dataset_id, record_id, extract_values(json.loads(doc)))
        conn.executemany(INSERT_RECORD_VALUE, rows)


def value_rows(
    entity: str, dataset_id: str, record_id: str, values: Iterable[tuple[str, str | None, float | None]]
) -> list[tuple[str, str, str, str, str | None, float | None]]:
    """`record_values` rows for the extracted values of one record."""
    return [(entity, dataset_id, record_id, path, text, number) for path, text, number in values]


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply every migration newer than the file's `user_version` (called inside a transaction).

    StoreError for a file of a newer beacon (`sqlite_files.connect` refused files of other programs).
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"SQLite store {path} has schema version {version}, newer than this beacon's")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[target]:
            if callable(statement):
                statement(conn)
            else:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(target)}")


SELECT_DATASET_IDS = "SELECT id FROM records WHERE entity = 'datasets'"
SELECT_DATASETS = "SELECT doc FROM records WHERE entity = 'datasets' ORDER BY id"
SELECT_RECORD_EXISTS = "SELECT 1 FROM records WHERE entity = ? AND id = ?"
UPSERT_RECORD = "INSERT OR REPLACE INTO records (entity, id, dataset_id, doc) VALUES (?, ?, ?, ?)"
DELETE_RECORD_TERMS = "DELETE FROM record_terms WHERE entity = ? AND record_id = ?"
INSERT_RECORD_TERM = "INSERT OR IGNORE INTO record_terms (entity, term_id, dataset_id, record_id) VALUES (?, ?, ?, ?)"
UPSERT_TERM = (
    "INSERT INTO terms (term_id, label) VALUES (?, ?) "
    "ON CONFLICT (term_id) DO UPDATE SET label = coalesce(terms.label, excluded.label)"
)
SELECT_FILTERING_TERMS = """
    SELECT DISTINCT rt.term_id, t.label, rt.entity
    FROM record_terms rt JOIN terms t ON t.term_id = rt.term_id
    WHERE (:entity IS NULL OR rt.entity = :entity) AND (:dataset_id IS NULL OR rt.dataset_id = :dataset_id)
    ORDER BY rt.term_id, rt.entity
"""
# -- filters: record values and ontologies (issue #6) ---------------------------------------------
DELETE_RECORD_VALUES = "DELETE FROM record_values WHERE entity = ? AND record_id = ?"
INSERT_RECORD_VALUE = (
    "INSERT INTO record_values (entity, dataset_id, record_id, path, text, number) VALUES (?, ?, ?, ?, ?, ?)"
)
SELECT_FILTERING_FIELDS = """
    SELECT DISTINCT path, entity FROM record_values
    WHERE (:entity IS NULL OR entity = :entity) AND (:dataset_id IS NULL OR dataset_id = :dataset_id)
    ORDER BY path, entity
"""
SELECT_ONTOLOGY_EXISTS = "SELECT 1 FROM ontologies WHERE id = ?"
UPSERT_ONTOLOGY = (
    "INSERT OR REPLACE INTO ontologies (id, resource, stamp) "
    "VALUES (?, ?, (SELECT coalesce(max(stamp), 0) + 1 FROM ontologies))"
)
DELETE_ONTOLOGY_TERMS = "DELETE FROM ontology_terms WHERE ontology_id = ?"
INSERT_ONTOLOGY_TERM = (
    "INSERT OR REPLACE INTO ontology_terms (ontology_id, term_id, label, parents) VALUES (?, ?, ?, ?)"
)
SELECT_ONTOLOGIES = "SELECT id, resource FROM ontologies ORDER BY id"
SELECT_ONTOLOGY_TERMS = "SELECT term_id, label, parents FROM ontology_terms WHERE ontology_id = ? ORDER BY term_id"
SELECT_ONTOLOGY_STAMP = "SELECT count(*), coalesce(max(stamp), 0) FROM ontologies"
SELECT_ANNOTATIONS = (
    "SELECT DISTINCT annotations FROM variant_sets WHERE state = 'current'"
    " AND (:dataset_id IS NULL OR dataset_id = :dataset_id)"
)
SELECT_FREQUENCY_SOURCE = "SELECT frequency_source FROM variant_sets WHERE dataset_id = ? AND state = 'current'"
SELECT_CURRENT_COUNT = "SELECT variant_count FROM variant_sets WHERE dataset_id = ? AND state = 'current'"
# The tables of the current version (of one chromosome, or all): a row with a NULL table when it has none.
SELECT_CURRENT_TABLES = """
    SELECT s.assembly, c.table_version, max(c.max_short_span) FROM variant_sets s
    LEFT JOIN variant_contigs c ON c.version = s.version AND (:chromosome IS NULL OR c.chromosome = :chromosome)
    WHERE s.dataset_id = :dataset_id AND s.state = 'current'
    GROUP BY c.table_version ORDER BY c.table_version
"""
REMOVE_DATASET = (
    "DELETE FROM variant_contigs WHERE version IN (SELECT version FROM variant_sets WHERE dataset_id = :dataset_id)",
    "DELETE FROM variant_sets WHERE dataset_id = :dataset_id",
    "DELETE FROM load_history WHERE dataset_id = :dataset_id",
    "DELETE FROM record_terms WHERE dataset_id = :dataset_id",
    "DELETE FROM record_values WHERE dataset_id = :dataset_id",
    "DELETE FROM records WHERE dataset_id = :dataset_id",
    "DELETE FROM terms WHERE term_id NOT IN (SELECT term_id FROM record_terms)",
)
