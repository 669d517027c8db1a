"""The MongoDB store for large nodes: the same Store interface and contract suite as the SQLite store.

`BEACON_STORE_URI=mongodb://user:password@host1,host2/beacon?replicaSet=rs0&tls=true` (or
`mongodb+srv://...`) selects it; every option pymongo accepts in a connection string works, except those that
weaken reads or writes below primary reads and `w: majority, j: true` (refused, `mongo_connection`). The
database is the URI's path (default `beacon`).

Where things are:
- `mongo_codec`: the stored record documents (the record kept exactly, in a wrapper) and index entries;
- `mongo_queries` and `mongo_variant_queries`: filters, built so a request value can only ever be data;
- `mongo_state` (protocol, collections, indexes) and `mongo_writes`: all-or-nothing writes WITHOUT
  multi-document transactions, so one code path serves standalone servers, replica sets and sharded
  clusters; `mongo_variants`, `mongo_loads` and `mongo_ontologies` apply the same idea to variant loads (a version
  per dataset, switched by one update) and ontologies;
- `mongo_carriers` and `mongo_variant_reads`: case-level data in bounded chunks of its own collection, and the
  variant reads (pages, counts, the semi-join of biosample queries);
- `mongo_budget`: the time budget of reads;
- `docs/scaling.md`: sharding.

Failures: a server that cannot be reached, refuses the credentials, or does not answer in time raises
StoreUnavailable (HTTP 503), never a pymongo exception. Nothing touches the network before the first
operation, so a beacon whose MongoDB is down starts, reports not-ready and recovers by itself.
Reads share a budget of 1.5 s per request (`mongo_budget`: pymongo's client-side operation timeout,
which covers server selection and is sent to the server as maxTimeMS), so that token verification
(at most 3 s) and the store fit in the aggregators' 5 s; `check` is bounded by 2 s; writes wait for a
server at most `serverSelectionTimeoutMS` (2 s unless the URI says otherwise, at most 4 s).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pymongo
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConfigurationError, OperationFailure

from beacon.store.base import (
    LINK_VALUE_FIELDS,
    FilteringTerm,
    FrequencySource,
    LoadMode,
    MetadataBatch,
    RecordQuery,
    StoreError,
    StoreUnavailable,
    VariantDocument,
    VariantLoad,
    VariantQuery,
    build_id_query,
)
from beacon.store.mongo import (
    inspection as mongo_inspection,
    ontologies as mongo_ontologies,
    state as mongo_state,
    summaries as mongo_summaries,
    variant_reads,
    variants as mongo_variants,
    writes as mongo_writes,
)
from beacon.store.mongo.budget import READ_BUDGET, bounded_read, remaining_budget
from beacon.store.mongo.carriers import move_embedded_carriers
from beacon.store.mongo.codec import decode_record
from beacon.store.mongo.connection import client_options, durable_database
from beacon.store.mongo.errors import AUTH_ERRORS, ErrorTranslatingLoad, store_errors
from beacon.store.mongo.loads import MongoVariantLoad
from beacon.store.mongo.ontology_terms import OntologyTerms
from beacon.store.mongo.queries import eq, is_whole_entity, page, record_filter
from beacon.store.mongo.state import CARRIERS, RECORDS, SCHEMA_VERSION, VARIANTS, WriteOptions
from beacon.store.mongo.summaries import Summary
from beacon.store.mongo.variant_queries import VariantSet

if TYPE_CHECKING:
    from beacon.ontology import Ontology

DEFAULT_DATABASE = "beacon"
QUERY_TIMEOUT = READ_BUDGET  # seconds for one store call outside a request budget (mongo_budget)
CHECK_TIMEOUT = 2.0
_DATABASE_NAME = re.compile(r'^[^/\\. "$\x00]{1,63}$')


class MongoStore(mongo_inspection.InspectionMethods):
    """The Store interface on one MongoDB database (standalone, replica set or sharded cluster)."""

    def __init__(
        self,
        connect: Callable[[], MongoClient],
        database: str,
        *,
        where: str = "MongoDB",
        write_options: WriteOptions | None = None,
        query_timeout: float = QUERY_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        self.where = where
        self.read_only = read_only
        self._connect = connect
        self._database_name = database
        self.write_options = write_options or WriteOptions()
        self._query_timeout = query_timeout
        self._client: MongoClient | None = None
        self._lock = threading.Lock()
        self._schema_ready = False
        self._ontology_terms = OntologyTerms(lambda: mongo_ontologies.read_ontologies(self.database(), True), where)

    @classmethod
    def from_uri(cls, uri: str, **options: Any) -> MongoStore:
        """A store for a `mongodb://` or `mongodb+srv://` URI; ValueError for a malformed one.

        Connects lazily: an unreachable server is reported by the first operation, not here.
        """
        parts = urlsplit(uri)
        if parts.scheme not in ("mongodb", "mongodb+srv"):
            raise ValueError("a MongoDB store URI starts with mongodb:// or mongodb+srv://")
        database = unquote(parts.path.lstrip("/")) or DEFAULT_DATABASE
        if not _DATABASE_NAME.match(database):
            raise ValueError(f"{database!r} is not a valid MongoDB database name")
        options_of_client = client_options(parts.query)
        if parts.scheme == "mongodb":  # validate now; +srv would need a DNS lookup, done on connect
            try:
                pymongo.uri_parser.parse_uri(uri)
            except (ConfigurationError, ValueError) as error:
                raise ValueError(f"invalid MongoDB URI: {error}") from None
        where = parts.netloc.rpartition("@")[2] or "localhost"
        return cls(lambda: MongoClient(uri, **options_of_client), database, where=where, **options)

    @classmethod
    def from_client(cls, client: Any, database: str = DEFAULT_DATABASE, **options: Any) -> MongoStore:
        """A store on an existing client (tests use a mongomock client)."""
        return cls(lambda: client, database, where=f"{type(client).__module__} client", **options)

    def database(self) -> Database:
        """The pymongo database, connecting on first use (for this package's modules and tests)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return durable_database(self._client, self._database_name)

    @store_errors
    def check(self) -> None:
        """Raise StoreUnavailable unless MongoDB answers with the current schema.

        A new or older database is initialised, unless the store was opened read-only (the server's).
        """
        with pymongo.timeout(min(CHECK_TIMEOUT, self._query_timeout)):
            version = mongo_state.stored_schema_version(self.database())
        if version is not None and version > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"MongoDB store schema version {version} is newer than this beacon ({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:  # indexes exist: the version is recorded after them
            self._schema_ready = True
        elif self.read_only:
            state = "not initialised" if version is None else f"at schema version {version}, older than this beacon's"
            migration = " (it moves each variant's case-level data into g_variant_carriers)" if version else ""
            raise StoreUnavailable(
                f"the MongoDB database {self._database_name!r} at {self.where} is {state}: "
                f"run 'beacon init' (or a load) with a user that may write{migration}"
            )
        else:
            self._ensure_schema()

    def _ensure_schema(self) -> None:
        try:
            mongo_state.ensure_schema(self.database(), move_embedded_carriers)
        except OperationFailure as error:
            if error.code not in AUTH_ERRORS:
                raise
            raise StoreUnavailable(
                f"the MongoDB database {self._database_name!r} is not initialised (or is out of date) and the "
                "store URI's user may not create its indexes: run a loader with a user that may write"
            ) from error
        self._schema_ready = True

    def _read(self) -> AbstractContextManager[None]:
        """The context bounding a read by the request's budget (`mongo_budget`)."""
        return bounded_read(self._query_timeout, self.where)

    def _writable(self) -> Database:
        """The database, its schema created first if needed (writes only)."""
        if self.read_only:
            raise StoreError(f"the MongoDB store at {self.where} was opened for reading only")
        if not self._schema_ready:
            self._ensure_schema()
        return self.database()

    @store_errors
    def compact(self) -> int:
        """Run MongoDB's `compact` on the store's collections (needs the `compact` privilege); bytes freed.

        Removals and replaced variants already leave their space for later writes of the collection;
        this gives it back to the file system.
        """
        db = self._writable()
        freed = 0
        for name in (RECORDS, VARIANTS, CARRIERS, mongo_state.ONTOLOGY_TERMS, mongo_state.ONTOLOGIES):
            if name in db.list_collection_names(filter={"name": name}):
                freed += int(db.command("compact", name).get("bytesFreed", 0))
        return freed

    def close(self) -> None:
        """Close the client's connections (a later operation reconnects)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- metadata ---------------------------------------------------------------------------
    @store_errors
    def put_metadata(self, batch: MetadataBatch, *, replace: bool = False) -> dict[str, int]:
        """Write every record of the batch all-or-nothing; see Store.put_metadata and `mongo_state`."""
        return mongo_writes.put_metadata(self._writable(), batch, replace, self.write_options)

    @store_errors
    def remove_dataset(self, dataset_id: str) -> bool:
        """Remove a dataset and everything loaded into it in one step; False if it did not exist.

        The dataset disappears at once. Its variants (possibly millions) are then deleted here, after
        the grace period and outside the write lock, rather than by a later writer holding the lock.
        """
        db = self._writable()
        if not mongo_writes.remove_dataset(db, dataset_id, self.write_options):
            return False
        mongo_inspection.forget_loads(db, dataset_id)
        time.sleep(self.write_options.cleanup_grace)  # readers that saw the dataset finish meanwhile
        if dataset_id in mongo_state.read_visibility(db).removed:  # not already finished by a writer
            mongo_state.drop_variant_sets(db, dataset_id)
        return True

    @store_errors
    def list_datasets(self) -> list[dict[str, Any]]:
        """All dataset records, ordered by id."""
        with self._read():
            db = self.database()
            visible = mongo_state.read_visibility(db).datasets_clause()
            cursor = db[RECORDS].find({"entity": eq("datasets"), **visible}, {"doc": 1, "_id": 0}).sort("id", 1)
            return [decode_record(document["doc"]) for document in cursor]

    @store_errors
    def count_records(self, query: RecordQuery) -> int:
        """How many records match (counted by the server; no document is fetched)."""
        with self._read():
            db = self.database()
            visibility = mongo_state.read_visibility(db)
            if is_whole_entity(query):  # counted when the write committed
                found = mongo_summaries.read_summaries(db, visibility, dataset_id=query.dataset_id, entity=query.entity)
                return sum(summary.count for summary in found.values())
            mongo_filter = record_filter(query, visibility)
            return 0 if mongo_filter is None else db[RECORDS].count_documents(mongo_filter)

    @store_errors
    def find_records(self, query: RecordQuery) -> list[dict[str, Any]]:
        """The matching records ordered by id, with skip (`query.skip` records) and limit applied."""
        skip, limit = page(query.skip, query.limit)
        with self._read():
            db = self.database()
            mongo_filter = record_filter(query, mongo_state.read_visibility(db))
            if mongo_filter is None or limit == 0:  # limit 0 would mean "no limit" to MongoDB
                return []
            cursor = db[RECORDS].find(mongo_filter, {"doc": 1, "_id": 0}).sort("id", 1).skip(skip).limit(limit)
            return [decode_record(document["doc"]) for document in cursor.batch_size(limit)]

    @store_errors
    def record_links(self, query: RecordQuery, field: str) -> frozenset[str]:
        """The distinct `id`s or `individualId`s of every matching record; only that field is fetched."""
        if field not in LINK_VALUE_FIELDS:
            raise ValueError(f"record_links returns {sorted(LINK_VALUE_FIELDS)}, not {field!r}")
        with self._read():
            db = self.database()
            mongo_filter = record_filter(query, mongo_state.read_visibility(db))
            if mongo_filter is None:
                return frozenset()
            if field == "id":
                return frozenset(str(found["id"]) for found in db[RECORDS].find(mongo_filter, {"_id": 0, "id": 1}))
            projection = {"_id": 0, "values": {"$elemMatch": {"p": field}}}  # the one entry of that path
            found = db[RECORDS].find(mongo_filter, projection)
            return frozenset(entry["s"] for record in found for entry in record.get("values", ()) if entry.get("s"))

    @store_errors
    def filtering_terms(self, entity: str | None = None, dataset_id: str | None = None) -> list[FilteringTerm]:
        """Ontology terms present in visible records (of one entity and/or dataset, or all), ordered by id.

        Read from the summaries stored when each write committed (`mongo_summaries`), not from the
        records; a term labelled differently in different records gets the alphabetically first label.
        """
        return mongo_summaries.filtering_terms(self._summaries(entity, dataset_id))

    @store_errors
    def filtering_fields(self, entity: str | None = None, dataset_id: str | None = None) -> list[FilteringTerm]:
        """Paths of the scalar values in visible records, with the entities holding them as scopes."""
        return mongo_summaries.filtering_fields(self._summaries(entity, dataset_id))

    def _summaries(self, entity: str | None, dataset_id: str | None) -> dict[tuple[str, str], Summary]:
        with self._read():
            db = self.database()
            visibility = mongo_state.read_visibility(db)
            return mongo_summaries.read_summaries(db, visibility, dataset_id=dataset_id, entity=entity)

    # -- ontologies (see mongo_ontologies) ---------------------------------------------------------
    @store_errors
    def put_ontology(self, ontology: Ontology, *, replace: bool = False) -> int:
        """Store one ontology (terms and resource) all-or-nothing, keyed by its resource id."""
        return mongo_ontologies.put_ontology(self._writable(), ontology, replace, self.write_options)

    @store_errors
    def ontologies(self, *, with_terms: bool = True) -> list[Ontology]:
        """The loaded ontologies ordered by resource id; `with_terms=False` leaves `terms` empty.

        Terms are read by a background thread once per ontology stamp (`mongo_ontology_terms`), so a
        request never spends its budget reading them all.
        """
        if not with_terms:
            with self._read():
                return mongo_ontologies.read_ontologies(self.database(), False)
        with self._read():
            stamp = mongo_ontologies.ontology_stamp(self.database())
        left = remaining_budget()
        return self._ontology_terms.get(stamp, wait=self._query_timeout if left is None else left)

    @store_errors
    def ontology_stamp(self) -> str:
        """A token that changes whenever an ontology is stored."""
        with self._read():
            return mongo_ontologies.ontology_stamp(self.database())

    # -- variants (see mongo_variants) --------------------------------------------------------------
    @store_errors
    def begin_variant_load(
        self,
        dataset_id: str,
        *,
        replace: bool = False,
        frequency_source: FrequencySource | None = None,
        mode: LoadMode = "new",
    ) -> VariantLoad:
        """Start an atomic variant load into a new version of an existing dataset (see `LoadMode`)."""
        load = MongoVariantLoad(
            self._writable(),
            dataset_id,
            replace=replace,
            options=self.write_options,
            frequency_source=frequency_source,
            mode=mode,
        )
        return ErrorTranslatingLoad(load, self.where)

    @contextmanager
    def _current_set(self, query: VariantQuery) -> Iterator[tuple[Database, VariantSet | None]]:
        """The database and the dataset's current variant set (None: nothing can match), within the budget."""
        with self._read():
            db = self.database()
            variant_set = mongo_variants.read_variant_sets(db, query.dataset_id).get(query.dataset_id)
            if variant_set is not None and None not in (query.assembly, variant_set.assembly):
                variant_set = variant_set if query.assembly == variant_set.assembly else None
            yield db, variant_set

    @store_errors
    def count_variants(self, query: VariantQuery) -> int:
        """How many variants match, counted by the server (covered by the indexes where possible)."""
        with self._current_set(query) as (db, variant_set):
            return 0 if variant_set is None else variant_reads.count_variants(db, variant_set, query)

    @store_errors
    def find_variants(self, query: VariantQuery) -> list[VariantDocument]:
        """The matching variants ordered by chromosome and position, with skip/limit applied.

        Their carriers are read from their chunks only when the query asks for them (`with_carriers`),
        and only the first `max_carriers` of each.
        """
        skip, limit = page(query.skip, query.limit)
        with self._current_set(query) as (db, variant_set):
            if variant_set is None or limit == 0:  # limit 0 would mean "no limit" to MongoDB
                return []
            return variant_reads.find_variants(db, variant_set, query, skip, limit)

    @store_errors
    def variant_assemblies(self) -> set[str]:
        """Assemblies of the datasets' current variants."""
        with self._read():
            variant_sets = mongo_variants.read_variant_sets(self.database())
        return {variant_set.assembly for variant_set in variant_sets.values() if variant_set.assembly}

    @store_errors
    def variant_annotations(self, dataset_id: str | None = None) -> set[str]:
        """What the current variants (of one dataset, or all) carry: `geneId`, `aminoacidChange`, `caseLevelData`."""
        with self._read():
            variant_sets = mongo_variants.read_variant_sets(self.database(), dataset_id)
        return {name for variant_set in variant_sets.values() for name in variant_set.annotations}

    @store_errors
    def variant_frequency_source(self, dataset_id: str) -> FrequencySource | None:
        """The frequency source the dataset's current variants were loaded with, if any."""
        with self._read():
            variant_set = mongo_variants.read_variant_sets(self.database(), dataset_id).get(dataset_id)
        return None if variant_set is None else variant_set.frequency_source

    def variant_carriers(self, dataset_id: str, variant_id: str) -> list[str]:
        """Biosample ids carrying a variant (case-level data), ordered; empty when not loaded.

        The variant is found as `find_variants` finds it (by position, see `build_id_query`).
        """
        query = build_id_query(dataset_id, variant_id)
        return [] if query is None else self.carriers_of_variants(query)

    @store_errors
    def carriers_of_variants(self, query: VariantQuery) -> list[str]:
        """Biosample ids carrying any variant the query matches (case-level data), ordered."""
        with self._current_set(query) as (db, variant_set):
            return [] if variant_set is None else variant_reads.carriers_of(db, variant_set, query)
