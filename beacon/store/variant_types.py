"""Variant types of the store interface: documents, frequencies, queries and the variant load protocol.

`beacon.store.base` re-exports them with the rest of the interface; they live here to keep each module short.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

from beacon.genome import CHROMOSOMES, parse_variant_id


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
    # What `find_variants` reads of each variant's carriers: none (`with_carriers=False`, for answers that
    # show no case-level data), or at most `max_carriers` of them (the first in load order). Counts,
    # carrier queries and `biosample_ids` narrowing ignore both.
    with_carriers: bool = True
    max_carriers: int | None = None


def carriers_wanted(
    carriers: tuple[tuple[str, str | None], ...], query: VariantQuery
) -> tuple[tuple[str, str | None], ...]:
    """The part of a variant's carriers `find_variants` returns for a query (`with_carriers`, `max_carriers`)."""
    if not query.with_carriers:
        return ()
    return carriers if query.max_carriers is None else carriers[: max(query.max_carriers, 0)]


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
