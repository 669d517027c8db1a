"""SQLite schema version 7 (a variant set's frequency source): a store written by version 6 is upgraded in place."""

from __future__ import annotations

import sqlite3

from beacon.store import sqlite_schema
from beacon.store.base import FrequencySource, MetadataBatch, VariantQuery
from beacon.store.sqlite import SqliteStore
from tests.store.test_variant_contract import SNV, variant

GOE = FrequencySource("Genome of Europe", "https://genomeofeurope.eu/", "2025-01")
EVERYTHING = VariantQuery("A", assembly="GRCh38", chromosome="17", kind="range", start=0, end=10_000_000)


def test_a_version_6_store_keeps_its_variant_sets_with_no_frequency_source(tmp_path):
    path = tmp_path / "old.sqlite"
    store = SqliteStore(path)
    store.put_metadata(MetadataBatch({"datasets": [{"id": "A"}]}))
    load = store.begin_variant_load("A")
    load.add([SNV])
    load.commit()
    store.close()
    with sqlite3.connect(path) as conn:  # back to what version 6 wrote: no frequency_source column
        conn.executescript("ALTER TABLE variant_sets DROP COLUMN frequency_source; PRAGMA user_version = 6;")

    upgraded = SqliteStore(path)
    upgraded.check()
    assert upgraded.variant_frequency_source("A") is None
    assert [document.variant_id for document in upgraded.find_variants(EVERYTHING)] == [SNV.variant_id]
    assert upgraded.variant_assemblies() == {"GRCh38"}
    replacing = upgraded.begin_variant_load("A", replace=True, frequency_source=GOE)
    replacing.add([SNV, variant(7577400, "AC", "GT")])
    replacing.commit()
    assert upgraded.variant_frequency_source("A") == GOE
    assert upgraded.count_variants(EVERYTHING) == 2
    upgraded.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_schema.SCHEMA_VERSION == 7
