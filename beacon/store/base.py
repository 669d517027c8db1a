"""The store interface: everything the API and the loaders need from a database, and nothing more.

Both stores (SQLite, MongoDB) implement `Store` and pass the contract suite in `tests/store/`.
Queries are per dataset: the API asks once for each dataset the caller may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from beacon.genome import CHROMOSOMES, parse_variant_id

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


class PopulationFrequency(NamedTuple):
    """One `frequencyInPopulations[].frequencies[]` item (GoE shape); None = absent from the input.

    `population` is `Total`, a population or country code (`FI`) or code and sex (`FI_F`).
    The zygosity counts are allele counts in such genotypes (bcftools +fill-tags `AC_Hom`,
    `AC_Het`, `AC_Hemi`): a homozygous diploid carrier adds 2 to `allele_count_homozygous`.
    A NamedTuple because the loader builds millions of them; stores can keep them as plain arrays.
    """

    population: str
    allele_frequency: float
    allele_count: int | None = None
    allele_number: int | None = None
    allele_count_homozygous: int | None = None
    allele_count_heterozygous: int | None = None
    allele_count_hemizygous: int | None = None


@dataclass(frozen=True)
class FrequencySource:
    """Where a variant set's allele frequencies come from: a `frequencyInPopulations` item's
    `source`, `sourceReference` (both required by the Beacon schema) and optional `version`."""

    source: str
    source_reference: str
    version: str | None = None

    def to_json(self) -> dict[str, str]:
        """The stored form: the Beacon keys, `version` only when given."""
        stored = {"source": self.source, "sourceReference": self.source_reference}
        if self.version is not None:
            stored["version"] = self.version
        return stored

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> FrequencySource:
        """The source a `to_json` result was made from."""
        return cls(str(stored["source"]), str(stored["sourceReference"]), stored.get("version"))


@dataclass(slots=True)
class VariantDocument:
    """One variant (one ALT allele of a VCF record) ready to store.

    Coordinates are 0-based half-open and VCF-style (padded). `norm_*` is the allele with shared
    bases trimmed, used to compare alleles so padded and trimmed queries find the same variant.
    The Beacon record is built from these fields by `beacon.query.variant_records.build_record`.
    Not frozen: a frozen dataclass costs about 2 µs more per allele to build, a fifth of the
    loader's time budget.
    """

    variant_id: str
    assembly: str
    chromosome: str
    start: int
    end: int
    reference_bases: str
    alternate_bases: str
    norm_start: int
    norm_ref: str
    norm_alt: str
    # SNP, MNP, INS, DEL or DELINS (beacon.genome.classify_variant), or a structural type (beacon.structural)
    variant_type: str
    # bases the trimmed allele deletes, inserts or replaces (beacon.genome.variant_length); an SV's length
    length: int
    frequencies: tuple[PopulationFrequency, ...] = ()
    rs_ids: tuple[str, ...] = ()
    gene_ids: tuple[str, ...] = ()
    aminoacid_changes: tuple[str, ...] = ()
    protein_hgvs_ids: tuple[str, ...] = ()
    # (biosampleId, zygosity label or None when unknown), only when loaded with --case-level.
    carriers: tuple[tuple[str, str | None], ...] = ()
    # Structural variants (`beacon.structural`): VCF CIPOS/CIEND offsets (the imprecise interval),
    # a breakend's mate (canonical chromosome, 0-based position) and a stated copy number.
    cipos: tuple[int, int] | None = None
    ciend: tuple[int, int] | None = None
    mate_chromosome: str | None = None
    mate_start: int | None = None
    copy_number: int | None = None


@dataclass(frozen=True)
class VariantStatistics:
    """What a dataset's current variants are: assembly, how many, per chromosome and per variant type."""

    assembly: str | None
    count: int
    by_chromosome: Mapping[str, int]
    by_type: Mapping[str, int]

    @classmethod
    def from_counts(cls, assembly: str | None, rows: Iterable[tuple[str, str, int]]) -> VariantStatistics:
        """The statistics of (chromosome, type, count) rows; chromosomes in karyotype order, types by name."""
        by_chromosome: dict[str, int] = {}
        by_type: dict[str, int] = {}
        for chromosome, variant_type, number in rows:
            by_chromosome[chromosome] = by_chromosome.get(chromosome, 0) + number
            by_type[variant_type] = by_type.get(variant_type, 0) + number
        order = {name: index for index, name in enumerate(CHROMOSOMES)}
        chromosomes = sorted(by_chromosome.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
        return cls(assembly, sum(by_type.values()), dict(chromosomes), dict(sorted(by_type.items())))


@dataclass(frozen=True)
class VariantQuery:
    """A g_variants query within one dataset; `beacon.query.variants` builds it from a request.

    Kinds and what they match (0-based half-open coordinates, VCF-style stored variants):
    - `sequence`: the trimmed allele `norm_start`/`norm_ref`/`norm_alt` (None parts are not compared).
      When `norm_ref` is None the query could not be trimmed, so a variant also matches VCF-style:
      `start == start` and `alternate_bases` equal.
    - `range`: overlap, `v.start < end and v.end > start`.
    - `bracket`: `start <= v.start < start_max and end_min <= v.end < end`.
    - `gene`: every variant annotated with `gene_id`; `all`: everything.
    - `mate`: breakends on `chromosome` with `start <= v.start < start_max` whose mate lies on
      `mate_chromosome` with `mate_start <= v.mate_start < mate_start_max` (fusions, translocations).
    - `id`: the variant `variant_id`, which must lie at `chromosome` and `start` (the stores look it up
      there, through their position indexes); `build_id_query` fills them in from the id.
    Bases are `[ACGTN]*` where N matches any one base. `alternate_bases`/`reference_bases` narrow range,
    bracket and gene queries (matching the VCF-style or the trimmed allele); `variant_types` (already
    expanded by `beacon.genome.expand_variant_types`), `min_length`/`max_length`, `gene_id`,
    `aminoacid_change`, `protein_id`, `rs_id` and `biosample_ids` (carriers) narrow every kind.
    Lookup values are keys (`beacon.variant_ids`): `gene_id` matches a variant having it among its
    `gene_ids` upper-cased (`gene_key`), `aminoacid_change` one of its `aminoacid_changes` (one-letter),
    `protein_id` one of its `protein_hgvs_ids` by `protein_key`, `rs_id` one of its `rs_ids`.
    """

    dataset_id: str
    assembly: str | None = None
    chromosome: str | None = None
    kind: str = "sequence"
    start: int | None = None
    end: int | None = None
    start_max: int | None = None
    end_min: int | None = None
    norm_start: int | None = None
    norm_ref: str | None = None
    norm_alt: str | None = None
    reference_bases: str | None = None
    alternate_bases: str | None = None
    variant_types: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    gene_id: str | None = None
    aminoacid_change: str | None = None
    protein_id: str | None = None
    rs_id: str | None = None
    variant_id: str | None = None
    biosample_ids: frozenset[str] | None = None
    mate_chromosome: str | None = None
    mate_start: int | None = None
    mate_start_max: int | None = None
    skip: int = 0
    limit: int = 10


def build_id_query(dataset_id: str, variant_id: str) -> VariantQuery | None:
    """The `id` query for an internal variant id, located at the chromosome and start the id spells.

    None when the id is not in the loader's format (`beacon.genome.parse_variant_id`): no variant has it.
    """
    location = parse_variant_id(variant_id)
    if location is None:
        return None
    chromosome, start = location
    return VariantQuery(dataset_id=dataset_id, kind="id", variant_id=variant_id, chromosome=chromosome, start=start)


class VariantPartWriter(Protocol):
    """Writes one part of a variant load, in a worker process."""

    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Write a batch; returns how many were written."""

    def close(self) -> None:
        """Finish the part (it is merged by the loading process's `VariantLoad.add_part`)."""

    def discard(self) -> None:
        """Give the part up after a failure: close it and delete what was written."""


class VariantPart(Protocol):
    """Where a worker process writes one part of a load: picklable, opened in the worker."""

    def open(self) -> VariantPartWriter:
        """A writer for this part (call once, in the worker)."""


LoadMode = Literal["new", "replace", "add", "replace-contigs"]
"""How a variant load meets the dataset's current variants (`begin_variant_load`):
- `new`: the dataset must have none (StoreError otherwise);
- `replace`: the new version holds only the load's variants;
- `add`: the new version holds the current variants and the load's; a load holding a variant already
  present fails at `commit` with DuplicateVariantsError (nothing switched in);
- `replace-contigs`: the new version holds the load's variants and the current ones of every
  chromosome the load holds no variant on.
In every mode one version holds one assembly and one frequency source, and `commit` is one switch."""

LOAD_MODES: tuple[LoadMode, ...] = ("new", "replace", "add", "replace-contigs")


class VariantLoad(Protocol):
    """An open variant load into a new, invisible version of one dataset.

    Variants arrive either in batches (`add`) or, for loads split across worker processes, in parts
    that workers write (`part`) and the loading process merges in file order (`add_part`).
    """

    def add(self, documents: Iterable[VariantDocument]) -> int:
        """Write a batch; returns how many were written."""

    def part(self, index: int) -> VariantPart | None:
        """Where a worker can write part `index`; None when this store takes variants in one process."""

    def add_part(self, part: VariantPart) -> int:
        """Merge a written part after those added before it; returns how many variants it held."""

    def duplicates(self, chromosomes: Iterable[str]) -> None:
        """Raise DuplicateVariantsError if the load so far holds one variant id twice on these chromosomes.

        The loader asks only for chromosomes that several of its files hold (a file repeats no allele).
        """

    def commit(self) -> None:
        """Make the new version current in one step and drop the old one (see `LoadMode`)."""

    def abort(self) -> None:
        """Drop the new version; the previous one keeps answering."""


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
        """The matching variants, ordered by chromosome and position, with skip/limit applied."""

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
