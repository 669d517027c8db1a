"""SQLite schema version 3 (record values, ontologies): a store written by version 2 is upgraded in place."""

from __future__ import annotations

import sqlite3

from beacon.store import sqlite_schema
from beacon.store.base import MetadataBatch, RecordQuery, ValueCondition
from beacon.store.sqlite import SqliteStore


def test_a_version_2_store_gets_its_record_values_indexed(tmp_path):
    path = tmp_path / "old.sqlite"
    store = SqliteStore(path)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "A"}])
    batch.add("individuals", [{"id": "i1", "datasetId": "A", "height": 181}, {"id": "i2", "datasetId": "A"}])
    store.put_metadata(batch)
    store.close()
    with sqlite3.connect(path) as conn:  # back to what version 2 wrote: no value index, no ontologies
        conn.executescript(
            "DROP TABLE record_values; DROP TABLE ontologies; DROP TABLE ontology_terms;"
            " ALTER TABLE variant_sets DROP COLUMN annotations; ALTER TABLE variant_sets DROP COLUMN frequency_source;"
            " PRAGMA user_version = 2;"
        )

    upgraded = SqliteStore(path)
    upgraded.check()
    tall = RecordQuery("individuals", "A", conditions=(ValueCondition("height", ">", 180.0),))
    assert [record["id"] for record in upgraded.find_records(tall)] == ["i1"]
    assert upgraded.ontologies() == []
    upgraded.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_schema.SCHEMA_VERSION
