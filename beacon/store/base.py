"""The store interface: everything the API and the loaders need from a database, and nothing more.

Both stores (SQLite, MongoDB) implement `Store` and pass the contract suite in `tests/store/`.
Queries are per dataset: the API asks once for each dataset the caller may see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

# The variant types are part of the interface (re-exported): see beacon.store.variant_types.
from beacon.store.variant_types import (
    LOAD_MODES as LOAD_MODES,
    FrequencySource as FrequencySource,
    LoadMode as LoadMode,
    PopulationFrequency as PopulationFrequency,
    VariantDocument as VariantDocument,
    VariantLoad as VariantLoad,
    VariantPart as VariantPart,
    VariantPartWriter as VariantPartWriter,
    VariantQuery as VariantQuery,
    VariantStatistics as VariantStatistics,
    build_id_query as build_id_query,
    carriers_wanted as carriers_wanted,
)

if TYPE_CHECKING:
    from beacon.ontology import Ontology

Access = Literal["create", "write", "read"]
"""How a store is opened: `create` (loaders, `beacon init`), `write` (it must exist), `read` (the server)."""

METADATA_ENTITIES = ("datasets", "cohorts", "individuals", "biosamples", "analyses", "runs")
"""Metadata collections a store keeps as JSON records."""


class StoreError(Exception):
    """Base class for store failures that callers can report to a user."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or is not ready (maps to HTTP 503)."""


class DuplicateRecordError(StoreError):
    """A record id already exists and the write did not ask to replace it."""

    def __init__(self, entity: str, record_id: str) -> None:
        super().__init__(f"{entity} record {record_id!r} already exists (use --replace to overwrite)")
        self.entity = entity
        self.record_id = record_id


class DuplicateOntologyError(StoreError):
    """An ontology is already loaded and the write did not ask to replace it."""

    def __init__(self, ontology_id: str) -> None:
        super().__init__(f"ontology {ontology_id!r} is already loaded (use --replace to overwrite)")
        self.ontology_id = ontology_id


class DuplicateVariantsError(StoreError):
    """A load would give a dataset two variants with the same internal id; nothing was switched in.

    `examples` are some of the ids; `ordinals` (1-based places in the load's order, when the store can
    tell) of the two copies of the first example let the loader name the files they came from.
    """

    def __init__(self, message: str, count: int, examples: Sequence[str], ordinals: tuple[int, int] | None = None):
        super().__init__(message)
        self.count = count
        self.examples = tuple(examples)
        self.ordinals = ordinals


class UnknownDatasetError(StoreError):
    """A write or query names a dataset that has not been loaded (`entity`/`record_id`: the record naming it)."""

    def __init__(self, dataset_id: str, entity: str | None = None, record_id: str | None = None) -> None:
        super().__init__(f"dataset {dataset_id!r} does not exist (load it with 'beacon load metadata')")
        self.dataset_id = dataset_id
        self.entity = entity
        self.record_id = record_id


@dataclass(frozen=True)
class TermCondition:
    """Records having any of these ontology term ids (descendants already expanded)."""

    term_ids: frozenset[str]


@dataclass(frozen=True)
class ValueCondition:
    """A comparison on a record field path (alphanumeric filter), e.g. `sex.label = male`.

    `value` is a float for numeric comparisons, a duration in days (float) for ISO 8601 durations
    (`is_duration`), or a string (`%` wildcards allowed with `=` and `!`).
    """

    path: str
    operator: str
    value: str | float
    is_duration: bool = False


@dataclass(frozen=True)
class LinkCondition:
    """Records linked to one of these records: a string at `path` (e.g. `runId`) equal to one of `ids`.

    Links between records (`individualId`, `biosampleId`, `runId`) compare exactly: no wildcards.
    """

    path: str
    ids: frozenset[str]


Condition = TermCondition | ValueCondition | LinkCondition


@dataclass(frozen=True)
class RecordQuery:
    """A query for metadata records of one entity within one dataset."""

    entity: str
    dataset_id: str
    record_id: str | None = None
    conditions: tuple[Condition, ...] = ()
    # Restrict to these record ids (e.g. the biosamples carrying a variant); None = no restriction.
    record_ids: frozenset[str] | None = None
    # Restrict to records whose `individualId` is one of these (filters scoped to individuals).
    individual_ids: frozenset[str] | None = None
    skip: int = 0
    limit: int = 10


LINK_VALUE_FIELDS = frozenset({"id", "individualId"})
"""The fields `Store.record_links` returns (what linked filters follow)."""


@dataclass(frozen=True)
class FilteringTerm:
    """A term that can be used in a filter, as `/filtering_terms` lists it."""

    id: str
    type: str  # "ontology", "alphanumeric" or "custom"
    label: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass
class MetadataBatch:
    """Records to write in one atomic step, by entity."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, entity: str, records: Sequence[dict[str, Any]]) -> None:
        """Queue records of one entity."""
        self.records.setdefault(entity, []).extend(records)


class Store(Protocol):
    """What the API and the loaders need from a database."""

    where: str
    """Where the store lives, for messages: a file path or MongoDB hosts (never credentials)."""

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers and its schema is current."""

    def close(self) -> None:
        """Release connections."""

    def compact(self) -> int:
        """Give the space of removed and replaced data back to the file system; returns the bytes freed."""

    # -- metadata -------------------------------------------------------------------------
    def put_metadata(self, batch: MetadataBatch, *, replace: bool = False) -> dict[str, int]:
        """Write every record of the batch atomically; returns counts by entity.

        Raises DuplicateRecordError (nothing written) when an id exists and `replace` is false,
        UnknownDatasetError when a record names a dataset neither stored nor in the batch.
        """

    def list_datasets(self) -> list[dict[str, Any]]:
        """All dataset records, ordered by id."""

    def remove_dataset(self, dataset_id: str) -> bool:
        """Remove a dataset and everything loaded into it; False if it did not exist."""

    def count_records(self, query: RecordQuery) -> int:
        """How many records match (ignores skip/limit)."""

    def find_records(self, query: RecordQuery) -> list[dict[str, Any]]:
        """The matching records, ordered by id, with skip/limit applied."""

    def record_links(self, query: RecordQuery, field: str) -> frozenset[str]:
        """The `id`s or `individualId`s (`field`) of every matching record: no skip/limit, no payloads."""

    def filtering_terms(self, entity: str | None = None, dataset_id: str | None = None) -> list[FilteringTerm]:
        """Ontology terms present in loaded records (of one entity and/or dataset, or all), ordered by id."""

    # -- filters: field paths and ontologies (issue #6) -----------------------------------
    def filtering_fields(self, entity: str | None = None, dataset_id: str | None = None) -> list[FilteringTerm]:
        """Paths of the scalar values in loaded records (`indexing.extract_values`), ordered by id.

        Type `alphanumeric`, the entities holding the path as scopes; of one entity and/or dataset, or all.
        """

    def put_ontology(self, ontology: Ontology, *, replace: bool = False) -> int:
        """Store one ontology (terms and resource) atomically, keyed by `ontology.resource.id`.

        Returns the number of terms; raises DuplicateOntologyError when it is loaded and `replace` is false.
        """

    def ontologies(self, *, with_terms: bool = True) -> list[Ontology]:
        """The loaded ontologies ordered by resource id; `with_terms=False` leaves `terms` empty (cheap)."""

    def ontology_stamp(self) -> str:
        """A token that changes whenever an ontology is stored, so callers may cache the hierarchy."""

    # -- variants -------------------------------------------------------------------------
    def begin_variant_load(
        self,
        dataset_id: str,
        *,
        replace: bool = False,
        frequency_source: FrequencySource | None = None,
        mode: LoadMode = "new",
    ) -> VariantLoad:
        """Start an atomic variant load for an existing dataset.

        `frequency_source` is where the new variant set's frequencies come from (a populations map's
        source), kept with the set from `commit`; None: the set names none. `mode` is how the load meets
        the current variants (`LoadMode`); `replace=True` is `mode="replace"`. Raises UnknownDatasetError,
        or StoreError when the dataset already has variants in mode `new` (or another load of it is
        running), or when an `add`/`replace-contigs` load names another frequency source than the
        current variants'.
        """

    def count_variants(self, query: VariantQuery) -> int:
        """How many variants match (never materialises records)."""

    def find_variants(self, query: VariantQuery) -> list[VariantDocument]:
        """The matching variants, ordered by chromosome and position, with skip/limit applied.

        Each one's `carriers` as `carriers_wanted` cuts them (`query.with_carriers`, `query.max_carriers`)."""

    def variant_assemblies(self) -> set[str]:
        """Assemblies of the loaded variants (to decide whether assemblyId may be omitted)."""

    def variant_annotations(self, dataset_id: str | None = None) -> set[str]:
        """What the current variants (of one dataset, or of all) carry: `geneId`, `aminoacidChange`
        (annotation queries they can answer) and `caseLevelData` (carriers loaded)."""

    def variant_frequency_source(self, dataset_id: str) -> FrequencySource | None:
        """The frequency source the dataset's current variants were loaded with; None when that load
        named none, or the dataset has no variants."""

    def variant_carriers(self, dataset_id: str, variant_id: str) -> list[str]:
        """Biosample ids carrying a variant (case-level data), empty when not loaded.

        Looked up like `find_variants(build_id_query(...))`, by position; an id not in the loader's
        format has no carriers and does not reach the database.
        """

    def carriers_of_variants(self, query: VariantQuery) -> list[str]:
        """Biosample ids carrying any variant the query matches (case-level data), ordered; skip/limit
        are ignored. Empty when the dataset's variants were loaded without case-level data."""

    def variant_statistics(self, dataset_id: str) -> VariantStatistics | None:
        """Counts of the dataset's current variants per chromosome and type; None when it has none loaded."""

    def record_load(self, dataset_id: str, entry: Mapping[str, Any]) -> None:
        """Keep one entry (JSON-able: when, files, counts) of the dataset's load history."""

    def load_history(self, dataset_id: str) -> list[dict[str, Any]]:
        """The dataset's load history entries, oldest first (empty after its removal)."""
