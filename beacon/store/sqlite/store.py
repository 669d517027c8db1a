"""The embedded store: one SQLite file in WAL mode, so the server keeps answering while a load runs.

All SQL of the project lives in this package. Each thread gets its own connection (SQLite
connections must not be shared across threads); the connections belong to the store instance.
How the file is opened (created by loaders, read-only and followed when replaced by the server), how
SQLite errors become StoreError/StoreUnavailable and how space is given back: `sqlite_files`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beacon.query.indexing import extract_terms, extract_values
from beacon.store.base import (
    LINK_VALUE_FIELDS,
    DuplicateOntologyError,
    DuplicateRecordError,
    FilteringTerm,
    FrequencySource,
    LoadMode,
    MetadataBatch,
    RecordQuery,
    StoreError,
    UnknownDatasetError,
    VariantDocument,
    VariantQuery,
    VariantStatistics,
    build_id_query,
    carriers_wanted,
)
from beacon.store.sqlite import (
    contigs as sqlite_contigs,
    inspection as sqlite_inspection,
    schema as sqlite_schema,
    variant_queries as sqlite_variant_queries,
    variants as sqlite_variants,
)
from beacon.store.sqlite.files import (
    Access,
    Connections,
    check_schema_version,
    checkpoint,
    compact,
    file_key,
    reclaim,
    translated,
)
from beacon.store.sqlite.loads import SqliteVariantLoad
from beacon.store.sqlite.records import record_where

if TYPE_CHECKING:
    from beacon.ontology import Ontology

SQLITE_PREFIX = "sqlite:///"


def path_from_uri(uri: str) -> Path:
    """The file path of a `sqlite:///PATH` URI (relative paths are relative to the working directory)."""
    if not uri.startswith(SQLITE_PREFIX):
        raise ValueError(f"not an sqlite URI: {uri!r}")
    return Path(uri.removeprefix(SQLITE_PREFIX))


class SqliteStore:
    """The Store interface on one SQLite database file.

    `access` (see `sqlite_files`): `create` (loaders; the default) creates the file when missing,
    `write` needs it to exist, `read` (the server) never writes it and follows it when it is replaced.
    A reading store touches the file only when called, so a server starts whatever state it is in.
    """

    def __init__(self, path: Path | str, *, access: Access = "create") -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.access = access
        self._connections = Connections(self.path, access)
        if access == "read":
            return
        if access == "write":
            file_key(self.path)  # StoreUnavailable when it does not exist: `write` never creates it
        try:
            with self._write() as conn:
                sqlite_schema.migrate(conn, self.path)
        except sqlite3.Error as error:
            self.close()
            raise self._store_error(error) from error
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_uri(cls, uri: str, *, access: Access = "create") -> SqliteStore:
        """Open the store named by a `sqlite:///PATH` URI (created if needed with `create` access)."""
        return cls(path_from_uri(uri), access=access)

    # -- connections ------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def _store_error(self, error: sqlite3.Error) -> Exception:
        return self._connections.error(error)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it is committed together or not at all."""
        if self.access == "read":
            raise StoreError(f"SQLite store {self.path} was opened for reading only")
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:  # KeyboardInterrupt too: leave the store exactly as it was
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @translated
    def check(self) -> None:
        """Raise StoreUnavailable unless the database answers with the current schema version."""
        conn = self._conn()
        check_schema_version(conn, self.path)
        conn.execute("SELECT count(*) FROM variant_sets").fetchone()  # the schema can be read

    def close(self) -> None:
        """Close every connection this store opened; a writer first empties the WAL into the file."""
        conn = self._connections.existing()
        if conn is not None and self.access != "read":
            with suppress(sqlite3.Error):
                checkpoint(conn)
        self._connections.close_all()

    @translated
    def compact(self) -> int:
        """Rewrite the file without its free pages (VACUUM); returns how many bytes it shrank by."""
        before = self.path.stat().st_size
        compact(self._conn())
        return before - self.path.stat().st_size

    # -- metadata ---------------------------------------------------------------------------
    @translated
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
            raise UnknownDatasetError(str(dataset_id), entity, record_id)
        exists = conn.execute(sqlite_schema.SELECT_RECORD_EXISTS, (entity, record_id)).fetchone()
        if exists and not replace:
            raise DuplicateRecordError(entity, record_id)
        if exists:
            conn.execute(sqlite_schema.DELETE_RECORD_TERMS, (entity, record_id))
            conn.execute(sqlite_schema.DELETE_RECORD_VALUES, (entity, record_id))
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
        values = sqlite_schema.value_rows(entity, dataset_id, record_id, extract_values(record))
        conn.executemany(sqlite_schema.INSERT_RECORD_VALUE, values)

    @translated
    def list_datasets(self) -> list[dict[str, Any]]:
        """All dataset records, ordered by id."""
        rows = self._conn().execute(sqlite_schema.SELECT_DATASETS)
        return [json.loads(doc) for (doc,) in rows]

    @translated
    def remove_dataset(self, dataset_id: str) -> bool:
        """Remove a dataset, its records, its terms and its variants in one transaction."""
        with self._write() as conn:
            found = conn.execute(sqlite_schema.SELECT_RECORD_EXISTS, ("datasets", dataset_id)).fetchone()
            for version in sqlite_contigs.dataset_tables(conn, dataset_id):
                sqlite_variants.drop_version(conn, version)
            for statement in sqlite_schema.REMOVE_DATASET:
                conn.execute(statement, {"dataset_id": dataset_id})
        reclaim(self._conn())
        return found is not None

    @translated
    def count_records(self, query: RecordQuery) -> int:
        """How many records match the query."""
        where, params = record_where(query)
        return self._conn().execute(f"SELECT count(*) FROM records r WHERE {where}", params).fetchone()[0]

    @translated
    def find_records(self, query: RecordQuery) -> list[dict[str, Any]]:
        """The matching records ordered by id, with skip (`query.skip` records) and limit applied."""
        where, params = record_where(query)
        sql = f"SELECT r.doc FROM records r WHERE {where} ORDER BY r.id LIMIT ? OFFSET ?"
        rows = self._conn().execute(sql, [*params, query.limit, query.skip])
        return [json.loads(doc) for (doc,) in rows]

    @translated
    def record_links(self, query: RecordQuery, field: str) -> frozenset[str]:
        """The distinct `id`s or `individualId`s of every matching record (no payload is decoded)."""
        if field not in LINK_VALUE_FIELDS:
            raise ValueError(f"record_links returns {sorted(LINK_VALUE_FIELDS)}, not {field!r}")
        where, params = record_where(query)
        column = "r.id" if field == "id" else "json_extract(r.doc, '$.individualId')"
        rows = self._conn().execute(f"SELECT DISTINCT {column} FROM records r WHERE {where}", params)
        return frozenset(str(value) for (value,) in rows if value)

    @translated
    def filtering_terms(self, entity: str | None = None, dataset_id: str | None = None) -> list[FilteringTerm]:
        """Ontology terms present in loaded records, with the entities they occur in as scopes."""
        sql, params = sqlite_schema.SELECT_FILTERING_TERMS, {"entity": entity, "dataset_id": dataset_id}
        scopes: dict[str, list[str]] = {}
        labels: dict[str, str | None] = {}
        for term_id, label, term_entity in self._conn().execute(sql, params):
            scopes.setdefault(term_id, []).append(term_entity)
            labels[term_id] = label
        return [
            FilteringTerm(id=term_id, type="ontology", label=labels[term_id], scopes=tuple(scopes[term_id]))
            for term_id in sorted(scopes)
        ]

    # -- filters: field paths and ontologies (issue #6) -------------------------------------
    @translated
    def filtering_fields(self, entity: str | None = None, dataset_id: str | None = None) -> list[FilteringTerm]:
        """Paths of the scalar values of loaded records, with the entities holding them as scopes."""
        params = {"entity": entity, "dataset_id": dataset_id}
        scopes: dict[str, list[str]] = {}
        for path, path_entity in self._conn().execute(sqlite_schema.SELECT_FILTERING_FIELDS, params):
            scopes.setdefault(path, []).append(path_entity)
        return [FilteringTerm(id=path, type="alphanumeric", scopes=tuple(scopes[path])) for path in sorted(scopes)]

    @translated
    def put_ontology(self, ontology: Ontology, *, replace: bool = False) -> int:
        """Store an ontology's resource and terms in one transaction (replacing its earlier terms)."""
        resource = ontology.resource
        with self._write() as conn:
            if conn.execute(sqlite_schema.SELECT_ONTOLOGY_EXISTS, (resource.id,)).fetchone() and not replace:
                raise DuplicateOntologyError(resource.id)
            conn.execute(sqlite_schema.UPSERT_ONTOLOGY, (resource.id, json.dumps(resource.to_json())))
            conn.execute(sqlite_schema.DELETE_ONTOLOGY_TERMS, (resource.id,))
            rows = [(resource.id, term.id, term.label, json.dumps(term.parents)) for term in ontology.terms]
            conn.executemany(sqlite_schema.INSERT_ONTOLOGY_TERM, rows)
        return len(ontology.terms)

    @translated
    def ontologies(self, *, with_terms: bool = True) -> list[Ontology]:
        """The loaded ontologies ordered by resource id (terms ordered by id, or none)."""
        from beacon.ontology import Ontology, OntologyResource, OntologyTerm

        conn = self._conn()
        loaded = []
        for ontology_id, resource_json in conn.execute(sqlite_schema.SELECT_ONTOLOGIES).fetchall():
            resource = OntologyResource.from_json(json.loads(resource_json))
            rows = conn.execute(sqlite_schema.SELECT_ONTOLOGY_TERMS, (ontology_id,)) if with_terms else ()
            terms = tuple(OntologyTerm(term_id, label, tuple(json.loads(parents))) for term_id, label, parents in rows)
            loaded.append(Ontology(resource=resource, terms=terms))
        return loaded

    @translated
    def ontology_stamp(self) -> str:
        """How many ontologies are stored and the serial of the latest write, e.g. `2:5` (reading: and the file)."""
        count, latest = self._conn().execute(sqlite_schema.SELECT_ONTOLOGY_STAMP).fetchone()
        key = self._connections.current_key()  # another file (a restored one) may count the same
        return f"{count}:{latest}" if key is None else f"{key.device}:{key.inode}:{count}:{latest}"

    # -- variants (see sqlite_variants, sqlite_contigs) -------------------------------------
    @translated
    def begin_variant_load(
        self,
        dataset_id: str,
        *,
        replace: bool = False,
        frequency_source: FrequencySource | None = None,
        mode: LoadMode = "new",
    ) -> SqliteVariantLoad:
        """Start an atomic variant load into a new version of an existing dataset (see `LoadMode`)."""
        return SqliteVariantLoad(
            self._conn, self._write, self._store_error, self.path, dataset_id,
            mode="replace" if replace else mode, frequency_source=frequency_source,
        )  # fmt: skip

    def _current_tables(self, query: VariantQuery) -> tuple[str | None, list[tuple[int, int]]] | None:
        """The current version's assembly and the (table, longest short span) pairs the query reads.

        None when the dataset has no current variants or they are of another assembly.
        """
        chromosome = query.chromosome if query.kind in sqlite_variants.CHROMOSOME_KINDS else None
        rows = (
            self._conn()
            .execute(sqlite_schema.SELECT_CURRENT_TABLES, {"dataset_id": query.dataset_id, "chromosome": chromosome})
            .fetchall()
        )
        if not rows or not _same_assembly(query, rows[0][0]):
            return None
        return rows[0][0], [(table, span) for _, table, span in rows if table is not None]

    @translated
    def count_variants(self, query: VariantQuery) -> int:
        """How many variants match; answered from the indexes, no record is decoded."""
        current = self._current_tables(query)
        if current is None:
            return 0
        conn = self._conn()
        if sqlite_variant_queries.is_everything(query):
            return conn.execute(sqlite_schema.SELECT_CURRENT_COUNT, (query.dataset_id,)).fetchone()[0]
        return sum(
            conn.execute(sql, params).fetchone()[0]
            for table, max_span in current[1]
            for sql, params in sqlite_variant_queries.count_statements(table, query, max_span)
        )

    @translated
    def find_variants(self, query: VariantQuery) -> list[VariantDocument]:
        """The matching variants ordered by position, with skip/limit applied."""
        current = self._current_tables(query)
        if current is None or not current[1]:
            return []
        assembly, tables = current
        selects, params = [], []
        for table, max_span in tables:
            where, where_params = sqlite_variant_queries.where_clause(query, max_span)
            selects.append(sqlite_variant_queries.select_sql(table, where, sqlite_variants.select_columns()))
            params += where_params
        if len(selects) == 1:
            sql = selects[0] + " ORDER BY v.chromosome, v.start, v.variant_id LIMIT ? OFFSET ?"
        else:  # a query without a chromosome (gene, all) reads every table of the version
            union = " UNION ALL ".join(selects)
            sql = f"SELECT * FROM ({union}) ORDER BY chromosome, start, variant_id LIMIT ? OFFSET ?"
        rows = self._conn().execute(sql, [*params, query.limit, query.skip])
        documents = [sqlite_variants.decode_document(assembly, row) for row in rows]
        if query.with_carriers and query.max_carriers is None:
            return documents
        # The carriers are part of the row's JSON payload: decoded anyway, cut here.
        return [replace(document, carriers=carriers_wanted(document.carriers, query)) for document in documents]

    @translated
    def variant_assemblies(self) -> set[str]:
        """Assemblies of the datasets' current variants."""
        rows = self._conn().execute("SELECT DISTINCT assembly FROM variant_sets WHERE state = 'current'")
        return {assembly for (assembly,) in rows if assembly}

    @translated
    def variant_annotations(self, dataset_id: str | None = None) -> set[str]:
        """What the current variants (of one dataset, or all) carry: `geneId`, `aminoacidChange`, `caseLevelData`,
        `variantAlternativeId` (rsIDs)."""
        names = {
            sqlite_variants.GENE: "geneId",
            sqlite_variants.AMINOACID_CHANGE: "aminoacidChange",
            sqlite_variants.CASE_LEVEL: "caseLevelData",
            sqlite_variants.RS_ID: "variantAlternativeId",
        }
        rows = self._conn().execute(sqlite_schema.SELECT_ANNOTATIONS, {"dataset_id": dataset_id})
        return {names[kind] for (kinds,) in rows for kind in kinds.split(",") if kind in names}

    @translated
    def variant_frequency_source(self, dataset_id: str) -> FrequencySource | None:
        """The frequency source the dataset's current variants were loaded with, if any."""
        row = self._conn().execute(sqlite_schema.SELECT_FREQUENCY_SOURCE, (dataset_id,)).fetchone()
        return None if row is None or row[0] is None else FrequencySource.from_json(json.loads(row[0]))

    @translated
    def variant_carriers(self, dataset_id: str, variant_id: str) -> list[str]:
        """Biosample ids carrying a variant (case-level data), ordered; empty when not loaded.

        The variant is found as `find_variants` finds it (by position, see `build_id_query`).
        """
        query = build_id_query(dataset_id, variant_id)
        return [] if query is None else self.carriers_of_variants(query)

    def carriers_of_variants(self, query: VariantQuery) -> list[str]:
        """Biosample ids carrying any variant the query matches (case-level data), ordered."""
        current = self._current_tables(query)
        if current is None or not current[1]:
            return []
        selects, params = [], []
        for table, max_span in current[1]:
            where, where_params = sqlite_variant_queries.where_clause(query, max_span)
            variant_rows = sqlite_variant_queries.select_sql(table, where, "v.rowid")
            carriers = f"{sqlite_variants.table_name(table)}_carriers"
            selects.append(f"SELECT biosample_id FROM {carriers} WHERE rowid_ref IN ({variant_rows})")
            params += where_params
        sql = f"SELECT DISTINCT biosample_id FROM ({' UNION ALL '.join(selects)}) ORDER BY biosample_id"
        return [biosample for (biosample,) in self._conn().execute(sql, params)]

    # -- inspection (`beacon datasets show`, see sqlite_inspection) -----------------------------
    @translated
    def variant_statistics(self, dataset_id: str) -> VariantStatistics | None:
        """Counts of the dataset's current variants per chromosome and type; None when it has none loaded."""
        return sqlite_inspection.variant_statistics(self._conn(), dataset_id)

    @translated
    def record_load(self, dataset_id: str, entry: Mapping[str, Any]) -> None:
        """Keep one entry of the dataset's load history."""
        with self._write() as conn:
            sqlite_inspection.record_load(conn, dataset_id, entry)

    @translated
    def load_history(self, dataset_id: str) -> list[dict[str, Any]]:
        """The dataset's load history entries, oldest first."""
        return sqlite_inspection.load_history(self._conn(), dataset_id)


def _same_assembly(query: VariantQuery, assembly: str | None) -> bool:
    return query.assembly is None or assembly is None or query.assembly == assembly
