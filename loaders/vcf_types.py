"""The shapes the VCF loader's modules share: options, the error, the report, populations, alleles.

Everything here is re-exported by `loaders.vcf`, which is where callers import it from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beacon.store.base import FrequencySource, PopulationFrequency

TOTAL = "Total"
"""The population name of whole-dataset frequencies."""

SKIP_NO_ALT = "no ALT allele (reference-only record)"
SKIP_STAR = "spanning deletion ALT *"
SKIP_BREAKEND = "breakend ALT"
SKIP_BAD_BASES = "ALT with characters other than IUPAC bases"
SKIP_SAME_AS_REF = "ALT equal to REF"
SKIP_ZERO_COUNT = "zero allele count"
SKIP_DUPLICATE = "duplicate of an earlier allele"
SKIP_UNKNOWN_CONTIG = "unknown contig"
SKIP_VALUE_COUNT = "INFO Number=A field with a value count other than the ALT count"
SKIP_SYMBOLIC = "symbolic ALT"
"""Skip reasons; a symbolic ALT is counted as `symbolic ALT <DEL>` etc., one reason per symbol."""


class VcfError(Exception):
    """An input that cannot be loaded; the message names the file, the record and the field."""

    def __init__(self, path: str | Path, problem: str, *, where: str = "", field_name: str = "") -> None:
        location = f", {where}" if where else ""
        subject = f"{field_name}: " if field_name else ""
        super().__init__(f"{path}{location}: {subject}{problem}")
        self.path = str(path)
        self.where = where
        self.field_name = field_name
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross from loader worker processes; the default would call __init__ with the message only.
        return (_vcf_error, (self.path, self.problem, self.where, self.field_name))


def _vcf_error(path: str, problem: str, where: str, field_name: str) -> VcfError:
    return VcfError(path, problem, where=where, field_name=field_name)


@dataclass
class LoadReport:
    """Counts of a VCF read: records and ALT alleles read, alleles loaded, skipped by reason.

    `parts` counts the chunks that worker processes converted and the loader merged (0: the file was
    read in one process); `rerun_in_one_process` says a worker failed and the load ran again without them.
    """

    path: str = ""
    records: int = 0
    alleles: int = 0
    loaded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    parts: int = 0
    rerun_in_one_process: bool = False
    contigs: set[str] = field(default_factory=set)  # chromosomes with records (known ones), for load checks

    def skip(self, reason: str, count: int = 1) -> None:
        """Count `count` alleles (or records) skipped for `reason`."""
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        lines = [
            f"{self.path}: {self.records} record(s), {self.alleles} ALT allele(s) read, {self.loaded} variant(s) loaded"
        ]
        lines += [f"  skipped {count}: {reason}" for reason, count in sorted(self.skipped.items())]
        if self.parts:
            lines.append(f"  converted by worker processes in {self.parts} parts, merged in file order")
        if self.rerun_in_one_process:
            lines.append("  loaded again in one process: a worker process failed")
        return lines


@dataclass(frozen=True)
class PopulationFields:
    """The INFO fields holding one population's frequency and counts (None = not in the file)."""

    population: str
    allele_frequency: str | None = None
    allele_count: str | None = None
    allele_number: str | None = None
    allele_count_homozygous: str | None = None
    allele_count_heterozygous: str | None = None
    allele_count_hemizygous: str | None = None


@dataclass(frozen=True)
class PopulationMap:
    """A `--populations` map: INFO fields per population, or the labels of a sample panel's populations,
    and where the frequencies come from.

    A map describes INFO fields (`populations`) or a sample panel (`panel_labels`), never both.
    """

    populations: tuple[PopulationFields, ...]
    source: str | None = None
    source_reference: str | None = None
    version: str | None = None
    panel_labels: Mapping[str, str] = field(default_factory=dict)
    """Sample panel population (e.g. `GBR`) -> published label (e.g. `GB`); several may share a label."""
    split_by_sex: bool = False
    """With `panel_labels`: also publish `<label>_F`/`<label>_M` and the sex totals `F`/`M`."""

    def frequency_source(self) -> FrequencySource | None:
        """The source the loaded records name; None unless the map gives `source` and `sourceReference`."""
        if not (self.source and self.source_reference):
            return None
        return FrequencySource(self.source, self.source_reference, self.version or None)


@dataclass(frozen=True)
class SamplePanel:
    """VCF sample name -> population code, and -> sex (`F`/`M`) for the samples whose sex is known."""

    populations: Mapping[str, str]
    sexes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VcfOptions:
    """How to read a VCF: assembly, frequency source and what else to keep."""

    assembly: str
    population_map: PopulationMap | None = None
    sample_panel: SamplePanel | None = None
    split_by_sex: bool = True
    case_level: bool = False
    keep_zero_count: bool = False
    skip_unknown_contigs: bool = False
    ignore_header_assembly: bool = False
    """Load even when the header names another assembly or gives its lengths (`loaders.vcf_header`)."""
    allow_unpanelled_samples: bool = False
    """Load even when VCF samples are missing from the sample panel (they count in Total only)."""
    # htslib threads decompressing BGZF (bgzip, BCF) input while Python converts: about 10% faster.
    decompression_threads: int = 1

    def frequency_source(self) -> FrequencySource | None:
        """Where the frequencies come from when the input names it (a populations map); None: the dataset."""
        return None if self.population_map is None else self.population_map.frequency_source()


@dataclass(slots=True)
class VcfAllele:
    """One ALT allele as read: canonical chromosome, VCF POS/REF/ALT and what the record says of it."""

    chromosome: str
    position: int
    reference_bases: str
    alternate_bases: str
    rs_ids: tuple[str, ...] = ()
    frequencies: tuple[PopulationFrequency, ...] = ()
    carriers: tuple[tuple[str, str | None], ...] = ()
    gene_ids: tuple[str, ...] = ()
    aminoacid_changes: tuple[str, ...] = ()
    protein_hgvs_ids: tuple[str, ...] = ()
    structure: Any = None  # a `loaders.vcf_structural.SvShape` for structural alleles
