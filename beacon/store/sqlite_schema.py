"""The SQLite schema, its migrations and the SQL statements of the metadata side.

`PRAGMA user_version` holds the schema version; `migrate` brings an older file up to date in one
transaction, so a half-migrated file cannot exist.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, tuple[str, ...]] = {
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
}


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the file's `user_version` (called inside a transaction)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"store schema version {version} is newer than this beacon ({SCHEMA_VERSION})")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[target]:
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
    WHERE :entity IS NULL OR rt.entity = :entity
    ORDER BY rt.term_id, rt.entity
"""
REMOVE_DATASET = (
    "DELETE FROM record_terms WHERE dataset_id = :dataset_id",
    "DELETE FROM records WHERE dataset_id = :dataset_id",
    "DELETE FROM terms WHERE term_id NOT IN (SELECT term_id FROM record_terms)",
)
