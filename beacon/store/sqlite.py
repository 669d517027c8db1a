"""The embedded store: one SQLite file in WAL mode, so the server keeps answering while a load runs.

All SQL of the project lives in this package. Each thread gets its own connection (SQLite
connections must not be shared across threads); the connections belong to the store instance.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from beacon.query.indexing import extract_terms
from beacon.store import sqlite_schema
from beacon.store.base import (
    DuplicateRecordError,
    FilteringTerm,
    MetadataBatch,
    RecordQuery,
    StoreUnavailable,
    TermCondition,
    UnknownDatasetError,
    ValueCondition,
    VariantQuery,
)

SQLITE_PREFIX = "sqlite:///"


def path_from_uri(uri: str) -> Path:
    """The file path of a `sqlite:///PATH` URI (relative paths are relative to the working directory)."""
    if not uri.startswith(SQLITE_PREFIX):
        raise ValueError(f"not an sqlite URI: {uri!r}")
    return Path(uri.removeprefix(SQLITE_PREFIX))


class SqliteStore:
    """The Store interface on one SQLite database file."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreUnavailable(f"SQLite store {self.path} does not exist")
        with self._write() as conn:
            sqlite_schema.migrate(conn)

    @classmethod
    def from_uri(cls, uri: str) -> SqliteStore:
        """Open (creating if needed) the store named by a `sqlite:///PATH` URI."""
        return cls(path_from_uri(uri))

    # -- connections ------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            except sqlite3.Error as error:
                raise StoreUnavailable(f"cannot open SQLite store {self.path}: {error}") from error
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it is committed together or not at all."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:  # KeyboardInterrupt too: leave the store exactly as it was
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def check(self) -> None:
        """Raise StoreUnavailable unless the database answers with the current schema version."""
        try:
            version = self._conn().execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite store {self.path} is not readable: {error}") from error
        if version != sqlite_schema.SCHEMA_VERSION:
            raise StoreUnavailable(f"SQLite schema version {version}, expected {sqlite_schema.SCHEMA_VERSION}")

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- metadata ---------------------------------------------------------------------------
    def put_metadata(self, batch: MetadataBatch, *, replace: bool = False) -> dict[str, int]:
        """Write every record of the batch in one transaction; see Store.put_metadata."""
        batch_datasets = {record["id"] for record in batch.records.get("datasets", [])}
        with self._write() as conn:
            known = batch_datasets | {row[0] for row in conn.execute(sqlite_schema.SELECT_DATASET_IDS)}
            counts: dict[str, int] = {}
            for entity, records in batch.records.items():
                for record in records:
                    self._put_record(conn, entity, record, known, replace)
                counts[entity] = len(records)
        return counts

    def _put_record(
        self, conn: sqlite3.Connection, entity: str, record: dict[str, Any], known: set[str], replace: bool
    ) -> None:
        record_id = record["id"]
        dataset_id = record_id if entity == "datasets" else record.get("datasetId")
        if dataset_id not in known:
            raise UnknownDatasetError(str(dataset_id))
        exists = conn.execute(sqlite_schema.SELECT_RECORD_EXISTS, (entity, record_id)).fetchone()
        if exists and not replace:
            raise DuplicateRecordError(entity, record_id)
        if exists:
            conn.execute(sqlite_schema.DELETE_RECORD_TERMS, (entity, record_id))
        conn.execute(
            sqlite_schema.UPSERT_RECORD,
            (entity, record_id, dataset_id, json.dumps(record, separators=(",", ":"))),
        )
        terms = extract_terms(record)
        conn.executemany(
            sqlite_schema.INSERT_RECORD_TERM,
            [(entity, term_id, dataset_id, record_id) for term_id in terms],
        )
        conn.executemany(sqlite_schema.UPSERT_TERM, list(terms.items()))

    def list_datasets(self) -> list[dict[str, Any]]:
        """All dataset records, ordered by id."""
        rows = self._conn().execute(sqlite_schema.SELECT_DATASETS)
        return [json.loads(doc) for (doc,) in rows]

    def remove_dataset(self, dataset_id: str) -> bool:
        """Remove a dataset, its records, its terms and its variants in one transaction."""
        with self._write() as conn:
            found = conn.execute(sqlite_schema.SELECT_RECORD_EXISTS, ("datasets", dataset_id)).fetchone()
            for statement in sqlite_schema.REMOVE_DATASET:
                conn.execute(statement, {"dataset_id": dataset_id})
        return found is not None

    def count_records(self, query: RecordQuery) -> int:
        """How many records match the query."""
        where, params = _record_where(query)
        return self._conn().execute(f"SELECT count(*) FROM records r WHERE {where}", params).fetchone()[0]

    def find_records(self, query: RecordQuery) -> list[dict[str, Any]]:
        """The matching records ordered by id, with skip (`query.skip` records) and limit applied."""
        where, params = _record_where(query)
        sql = f"SELECT r.doc FROM records r WHERE {where} ORDER BY r.id LIMIT ? OFFSET ?"
        rows = self._conn().execute(sql, [*params, query.limit, query.skip])
        return [json.loads(doc) for (doc,) in rows]

    def filtering_terms(self, entity: str | None = None) -> list[FilteringTerm]:
        """Ontology terms present in loaded records, with the entities they occur in as scopes."""
        sql, params = sqlite_schema.SELECT_FILTERING_TERMS, {"entity": entity}
        scopes: dict[str, list[str]] = {}
        labels: dict[str, str | None] = {}
        for term_id, label, term_entity in self._conn().execute(sql, params):
            scopes.setdefault(term_id, []).append(term_entity)
            labels[term_id] = label
        return [
            FilteringTerm(id=term_id, type="ontology", label=labels[term_id], scopes=tuple(scopes[term_id]))
            for term_id in sorted(scopes)
        ]

    # -- variants (see sqlite_variants) -----------------------------------------------------
    def begin_variant_load(self, dataset_id: str) -> Any:
        """Start an atomic variant load (implemented with the variants issue)."""
        raise NotImplementedError("variant loading is not implemented yet")

    def count_variants(self, query: VariantQuery) -> int:
        """How many variants match (none stored yet)."""
        return 0

    def find_variants(self, query: VariantQuery) -> list[dict[str, Any]]:
        """Matching variant records (none stored yet)."""
        return []

    def variant_assemblies(self) -> set[str]:
        """Assemblies of loaded variants."""
        return set()

    def variant_carriers(self, dataset_id: str, variant_id: str) -> list[str]:
        """Biosamples carrying a variant."""
        return []


def _record_where(query: RecordQuery) -> tuple[str, list[Any]]:
    clauses = ["r.entity = ?", "r.dataset_id = ?"]
    params: list[Any] = [query.entity, query.dataset_id]
    if query.record_id is not None:
        clauses.append("r.id = ?")
        params.append(query.record_id)
    if query.record_ids is not None:
        clauses.append("r.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(query.record_ids)))
    for condition in query.conditions:
        clause, condition_params = _condition_clause(condition)
        clauses.append(clause)
        params.extend(condition_params)
    return " AND ".join(clauses), params


def _condition_clause(condition: TermCondition | ValueCondition) -> tuple[str, list[Any]]:
    if isinstance(condition, TermCondition):
        clause = (
            "r.id IN (SELECT t.record_id FROM record_terms t WHERE t.entity = r.entity "
            "AND t.dataset_id = r.dataset_id AND t.term_id IN (SELECT value FROM json_each(?)))"
        )
        return clause, [json.dumps(sorted(condition.term_ids))]
    raise NotImplementedError("alphanumeric filters are not implemented by the SQLite store yet")
