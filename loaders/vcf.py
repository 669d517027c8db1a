"""VCF loader: read `.vcf`, `.vcf.gz` (bgzip or plain gzip) and `.bcf` with cyvcf2 into variant documents.

`read_alleles` yields one `VcfAllele` per ALT allele of each record; `to_documents` turns them into
`VariantDocument`s (coordinates, trimming, types, ids) without touching the file; `read_documents`
does both in one pass (through `to_document`, which `to_documents` uses too). Problems with the
input raise `VcfError`, whose message names the file, the record (number, line, CHROM:POS) and the
field; alleles that cannot be variants are skipped and counted in the `LoadReport` by reason
(symbolic ALTs, `*`, zero total allele count, duplicates, unsplit Number=A values, ...).

Frequencies (`frequencyInPopulations`, GoE shape) come from one of three sources:

1. **Genotypes with a sample panel** (`VcfOptions.sample_panel`): a TSV with a header row whose
   first column is the VCF sample name, one column the caller names holds the population (for the
   1000 Genomes panel: `pop` or `super_pop`) and optionally one holds the sex (`gender`: male/female,
   M/F or PLINK 1/2). Each population gets AC/AN/AF and zygosity counts, plus `<POP>_F` and `<POP>_M`
   when sexes are known (`split_by_sex`); `Total` covers every VCF sample. Outside the X/Y
   pseudo-autosomal regions a male's homozygous call counts as one hemizygous allele and a female's
   Y calls are ignored; heterozygous male calls there are kept as given (they are caller errors or
   unannotated PAR calls).
2. **A populations map** (`VcfOptions.population_map`, `--populations MAP.json`) naming the INFO
   fields of each population. The format is that of EGA's beacon-data-tools `populations.json`::

       {"source": "Genome of Europe", "sourceReference": "https://...", "version": "2025-01",
        "populations": [
          {"population": "Total", "alleleFrequency": "AF", "alleleCount": "AC", "alleleNumber": "AN",
           "alleleCountHomozygous": "AC_Hom", "alleleCountHeterozygous": "AC_Het",
           "alleleCountHemizygous": "AC_Hemi"},
          {"population": "SE", "alleleFrequency": "SWEREFAF"}]}

   Every key but `population` is optional (an empty string means absent); a population needs
   `alleleFrequency` or both `alleleCount` and `alleleNumber`. Named fields must be declared in
   the header as numbers (Float for the frequency, Integer for counts); per-allele fields should be
   `Number=A` (a `Number=1` one is used for single-ALT records only). `numberOfPopulations`, if
   present, must match. `source`, `sourceReference` and `version` describe the frequencies.
3. **INFO fields detected from the header** otherwise: `AF`/`AC`/`AN` and `AC_Het`/`AC_Hom`/
   `AC_Hemi` give `Total`; `AF_<pop>`, `<pop>_AF`, `AC_<pop>`/`<pop>_AC`, `AN_<pop>`/`<pop>_AN` and
   `AC_<pop>_Het`/`_Hom`/`_Hemi` give `<pop>` (a code such as `FI`, optionally with one `_` part such
   as `FI_F`). Tokens meaning something else (`Adj`, `raw`, `Het`, `Hom`, `Hemi`, anything with
   `max`) are ignored, as are fields of the wrong type or Number. A VCF with genotypes and no
   such fields gets `Total` from its genotypes.

A sample panel and a populations map exclude each other. `alleleFrequency` is AC/AN whenever both
counts are known (so a rounded AF field is not even read), else the AF field.
Zygosity counts are taken verbatim from INFO and follow bcftools +fill-tags (`AC_Hom` counts alleles
in homozygous genotypes, 2 per diploid carrier). Counts the input lacks are left out, never 0.
A Number=A INFO value of `.` is missing; a value htslib cannot read as a number is an error.
htslib reads a number followed by junk (`5x`) as the number, so such values are not caught.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import cyvcf2
import numpy as np

from beacon.genome import (
    classify_variant,
    is_pseudoautosomal,
    normalise_assembly,
    normalise_chromosome,
    trim_alleles,
    variant_length,
)
from beacon.store.base import PopulationFrequency, VariantDocument

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

_BASES = frozenset("ACGTUNRYSWKMBDHV")
_LONG_ALLELES = 64  # variant ids spell out REF/ALT up to this combined length, then hash them
_FIELD_KINDS = (
    "allele_frequency",
    "allele_count",
    "allele_number",
    "allele_count_homozygous",
    "allele_count_heterozygous",
    "allele_count_hemizygous",
)
_MAP_KEYS = dict(
    zip(
        (
            "alleleFrequency",
            "alleleCount",
            "alleleNumber",
            "alleleCountHomozygous",
            "alleleCountHeterozygous",
            "alleleCountHemizygous",
        ),
        _FIELD_KINDS,
        strict=True,
    )
)
_TOTAL_FIELDS = {
    "AF": "allele_frequency",
    "AC": "allele_count",
    "AN": "allele_number",
    "AC_Hom": "allele_count_homozygous",
    "AC_Het": "allele_count_heterozygous",
    "AC_Hemi": "allele_count_hemizygous",
}
_ZYGOSITY_KINDS = {
    "hom": "allele_count_homozygous",
    "het": "allele_count_heterozygous",
    "hemi": "allele_count_hemizygous",
}
_POPULATION_TOKEN = r"(?P<pop>[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)?)"
_POPULATION_PATTERNS = (
    (re.compile(rf"^AC_{_POPULATION_TOKEN}_(?P<zygosity>Het|Hom|Hemi)$", re.IGNORECASE), None),
    (re.compile(rf"^AF_{_POPULATION_TOKEN}$"), "allele_frequency"),
    (re.compile(rf"^{_POPULATION_TOKEN}_AF$"), "allele_frequency"),
    (re.compile(rf"^AC_{_POPULATION_TOKEN}$"), "allele_count"),
    (re.compile(rf"^{_POPULATION_TOKEN}_AC$"), "allele_count"),
    (re.compile(rf"^AN_{_POPULATION_TOKEN}$"), "allele_number"),
    (re.compile(rf"^{_POPULATION_TOKEN}_AN$"), "allele_number"),
)
_NOT_POPULATIONS = frozenset({"adj", "raw", "het", "hom", "hemi", "all"})
_SEXES = {"male": "M", "m": "M", "1": "M", "female": "F", "f": "F", "2": "F"}
_ZYGOSITY_LABELS = (None, "heterozygous", "homozygous", "hemizygous")
_AMINO_ACIDS = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U", "Pyl": "O", "Ter": "*", "Xaa": "X",
}  # fmt: skip
_AMINO_ACID = re.compile("|".join(_AMINO_ACIDS))
_OUTSIDE_GENE = frozenset(
    {"upstream_gene_variant", "downstream_gene_variant", "intergenic_region", "intergenic_variant"}
)


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


@dataclass
class LoadReport:
    """Counts of a VCF read: records and ALT alleles read, alleles loaded, skipped by reason."""

    path: str = ""
    records: int = 0
    alleles: int = 0
    loaded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        """Count `count` alleles (or records) skipped for `reason`."""
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        lines = [
            f"{self.path}: {self.records} record(s), {self.alleles} ALT allele(s) read, {self.loaded} variant(s) loaded"
        ]
        lines += [f"  skipped {count}: {reason}" for reason, count in sorted(self.skipped.items())]
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
    """A `--populations` map: INFO fields per population and where the frequencies come from."""

    populations: tuple[PopulationFields, ...]
    source: str | None = None
    source_reference: str | None = None
    version: str | None = None


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
    # htslib threads decompressing BGZF (bgzip, BCF) input while Python converts: about 10% faster.
    decompression_threads: int = 1


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


# -- public entry points ------------------------------------------------------------------------------


def read_documents(
    path: str | Path, options: VcfOptions, report: LoadReport | None = None
) -> Iterator[VariantDocument]:
    """The variant documents of a VCF/BCF file, one per loadable ALT allele (see `read_alleles`)."""
    assembly = normalise_assembly(options.assembly)
    # Building documents straight from each record spares an intermediate object per allele.
    make = functools.partial(to_document, assembly)
    reader = _VcfReader(Path(path), options, report if report is not None else LoadReport(), make)
    return reader.open()  # type: ignore[return-value]


def read_alleles(path: str | Path, options: VcfOptions, report: LoadReport | None = None) -> Iterator[VcfAllele]:
    """One `VcfAllele` per loadable ALT allele; counts go to `report`; bad input raises VcfError.

    The header is read at once, so an unreadable file, a bad populations map or a panel matching
    no sample raise before the first allele is asked for; record problems raise while iterating.
    """
    reader = _VcfReader(Path(path), options, report if report is not None else LoadReport(), VcfAllele)
    return reader.open()


def to_documents(alleles: Iterable[VcfAllele], assembly: str) -> Iterator[VariantDocument]:
    """Variant documents for alleles read from a VCF of `assembly` (coordinates, trimming, type, id)."""
    assembly = normalise_assembly(assembly)
    for allele in alleles:
        yield to_document(
            assembly, allele.chromosome, allele.position, allele.reference_bases, allele.alternate_bases,
            allele.rs_ids, allele.frequencies, allele.carriers, allele.gene_ids, allele.aminoacid_changes,
            allele.protein_hgvs_ids,
        )  # fmt: skip


def to_document(
    assembly: str,
    chromosome: str,
    position: int,
    ref: str,
    alt: str,
    rs_ids: tuple[str, ...] = (),
    frequencies: tuple[PopulationFrequency, ...] = (),
    carriers: tuple[tuple[str, str | None], ...] = (),
    gene_ids: tuple[str, ...] = (),
    aminoacid_changes: tuple[str, ...] = (),
    protein_hgvs_ids: tuple[str, ...] = (),
) -> VariantDocument:
    """The document of one ALT allele (`VcfAllele` fields in order, after a canonical assembly)."""
    start = position - 1
    if len(ref) == 1 and len(alt) == 1:  # SNPs are most variants and need no trimming
        norm_start, norm_ref, norm_alt, variant_type, length = start, ref, alt, "SNP", 1
    else:
        norm_start, norm_ref, norm_alt = trim_alleles(start, ref, alt)
        variant_type = classify_variant(norm_ref, norm_alt)
        length = variant_length(norm_ref, norm_alt)
    if len(ref) + len(alt) <= _LONG_ALLELES:
        identifier = f"{assembly}-{chromosome}-{position}-{ref}-{alt}"
    else:
        identifier = variant_id(assembly, chromosome, position, ref, alt)
    return VariantDocument(
        identifier, assembly, chromosome, start, start + len(ref), ref, alt, norm_start, norm_ref, norm_alt,
        variant_type, length, frequencies, rs_ids, gene_ids, aminoacid_changes, protein_hgvs_ids, carriers,
    )  # fmt: skip


def variant_id(assembly: str, chromosome: str, position: int, ref: str, alt: str) -> str:
    """`GRCh37-22-16050075-A-G`: the variant's internal id; long alleles are replaced by a digest."""
    if len(ref) + len(alt) > _LONG_ALLELES:
        digest = hashlib.sha256(f"{ref}>{alt}".encode()).hexdigest()[:20]
        return f"{assembly}-{chromosome}-{position}-{len(ref)}-{len(alt)}-{digest}"
    return f"{assembly}-{chromosome}-{position}-{ref}-{alt}"


def read_population_map(path: str | Path) -> PopulationMap:
    """Read a `--populations` JSON map (format in the module docstring)."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise VcfError(path, f"cannot read the populations map: {error}") from None
    return parse_population_map(document, str(path))


def parse_population_map(document: Any, name: str = "populations map") -> PopulationMap:
    """Validate a parsed `--populations` JSON document."""
    if not isinstance(document, dict) or not isinstance(document.get("populations"), list):
        raise VcfError(name, 'expected an object with a "populations" array')
    populations = tuple(_population_fields(item, name, index) for index, item in enumerate(document["populations"]))
    if not populations:
        raise VcfError(name, "the populations array is empty")
    expected = document.get("numberOfPopulations")
    if expected not in (None, 0) and expected != len(populations):
        raise VcfError(name, f"numberOfPopulations is {expected} but {len(populations)} populations are listed")
    names = [population.population for population in populations]
    if len(set(names)) != len(names):
        raise VcfError(name, "a population is listed twice")
    texts = {key: document.get(key) for key in ("source", "sourceReference", "version")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise VcfError(name, f"{key} must be a string")
    return PopulationMap(populations, texts["source"], texts["sourceReference"], texts["version"])


def _population_fields(item: Any, name: str, index: int) -> PopulationFields:
    if not isinstance(item, dict) or not isinstance(item.get("population"), str) or not item["population"]:
        raise VcfError(name, f"populations[{index}] needs a non-empty string 'population'")
    unknown = set(item) - set(_MAP_KEYS) - {"population"}
    if unknown:
        raise VcfError(name, f"populations[{index}] has unknown key(s) {sorted(unknown)}")
    fields = {}
    for key, kind in _MAP_KEYS.items():
        value = item.get(key) or None
        if value is not None and not isinstance(value, str):
            raise VcfError(name, f"populations[{index}].{key} must be an INFO field name")
        fields[kind] = value
    return PopulationFields(item["population"], **fields)


def read_sample_panel(
    path: str | Path, *, population_column: str = "pop", sex_column: str | None = None
) -> SamplePanel:
    """Read a sample panel TSV: header row, sample name first, then the named columns."""
    lines = _read_lines(path)
    if not lines:
        raise VcfError(path, "the sample panel is empty")
    header = [name.strip() for name in lines[0].rstrip("\r\n").split("\t")]
    wanted = [population_column] + ([sex_column] if sex_column else [])
    for column in wanted:
        if column not in header:
            raise VcfError(path, f"no column {column!r} in the header (columns: {', '.join(filter(None, header))})")
    population_at = header.index(population_column)
    sex_at = header.index(sex_column) if sex_column else None
    populations: dict[str, str] = {}
    sexes: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        columns = [column.strip() for column in line.rstrip("\r\n").split("\t")]
        if not any(columns):
            continue
        sample, population = _panel_row(path, number, columns, population_at, populations)
        populations[sample] = population
        sex = _SEXES.get(columns[sex_at].lower()) if sex_at is not None and sex_at < len(columns) else None
        if sex:
            sexes[sample] = sex
    return SamplePanel(populations, sexes)


def _read_lines(path: str | Path) -> list[str]:
    try:
        with Path(path).open(encoding="utf-8") as handle:
            return handle.readlines()
    except (OSError, UnicodeDecodeError) as error:
        raise VcfError(path, f"cannot read the sample panel: {error}") from None


def _panel_row(
    path: str | Path, number: int, columns: list[str], population_at: int, seen: Mapping[str, str]
) -> tuple[str, str]:
    if population_at >= len(columns) or not columns[0] or not columns[population_at]:
        raise VcfError(path, "a sample name and a population are required", where=f"line {number}")
    if columns[0] in seen:
        raise VcfError(path, f"sample {columns[0]!r} is listed twice", where=f"line {number}")
    return columns[0], columns[population_at]


def detect_population_fields(infos: Mapping[str, tuple[str, str]]) -> tuple[PopulationFields, ...]:
    """Populations whose frequencies the INFO fields hold, from header declarations id -> (Number, Type).

    The layouts recognised are listed in the module docstring; `Total` comes first, the others in
    header order. Populations without a frequency or an AC/AN pair are left out.
    """
    found: dict[str, dict[str, str]] = {}
    for key, (number, kind) in infos.items():
        match = _classify_info_field(key)
        if match is not None and _declared_as(match[1], number, kind):
            found.setdefault(match[0], {}).setdefault(match[1], key)
    ordered = sorted(found, key=lambda name: name != TOTAL)
    populations = (PopulationFields(name, **found[name]) for name in ordered)
    return tuple(population for population in populations if _has_frequency(population))


def _classify_info_field(key: str) -> tuple[str, str] | None:
    if key in _TOTAL_FIELDS:
        return TOTAL, _TOTAL_FIELDS[key]
    for pattern, kind in _POPULATION_PATTERNS:
        match = pattern.match(key)
        if match is None:
            continue
        population = match["pop"]
        parts = population.lower().split("_")
        if any(part in _NOT_POPULATIONS or "max" in part for part in parts):
            return None
        return population, kind or _ZYGOSITY_KINDS[match["zygosity"].lower()]
    return None


def _declared_as(kind: str, number: str, value_type: str) -> bool:
    if kind == "allele_frequency":
        return value_type == "Float" and number == "A"
    if kind == "allele_number":
        return value_type == "Integer" and number == "1"
    return value_type == "Integer" and number == "A"


def _has_frequency(population: PopulationFields) -> bool:
    return population.allele_frequency is not None or (
        population.allele_count is not None and population.allele_number is not None
    )


# -- frequency plans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _InfoPlan:
    """INFO keys to fetch per record and, per population, the index of each kind (-1 = absent)."""

    keys: tuple[str, ...]
    per_allele: tuple[bool, ...]
    populations: tuple[tuple[str, int, int, int, int, int, int], ...]


def _info_plan(path: Path, populations: Iterable[PopulationFields], infos: Mapping[str, tuple[str, str]]) -> _InfoPlan:
    """Which INFO keys to fetch; the frequency is AC/AN when both are known, so AF is then not read."""
    keys: list[str] = []
    rows = []
    for population in populations:
        if not _has_frequency(population):
            raise VcfError(
                path, f"population {population.population!r} needs alleleFrequency or alleleCount and alleleNumber"
            )
        indexes = []
        for kind in _FIELD_KINDS:
            key = getattr(population, kind)
            if key is not None:
                _check_declared(path, key, kind, infos)
            if kind == "allele_frequency" and population.allele_count and population.allele_number:
                key = None
            if key is not None and key not in keys:
                keys.append(key)
            indexes.append(keys.index(key) if key is not None else -1)
        rows.append((population.population, *indexes))
    per_allele = tuple(infos[key][0] == "A" for key in keys)
    return _InfoPlan(tuple(keys), per_allele, tuple(rows))


def _check_declared(path: Path, key: str, kind: str, infos: Mapping[str, tuple[str, str]]) -> None:
    if key not in infos:
        raise VcfError(path, "the populations map names a field the header does not declare", field_name=key)
    number, value_type = infos[key]
    wanted = "Float" if kind == "allele_frequency" else "Integer"
    if value_type != wanted and not (wanted == "Float" and value_type == "Integer"):
        raise VcfError(path, f"declared Type={value_type}, expected {wanted}", field_name=key)
    if number not in ("A", "1"):
        raise VcfError(path, f"declared Number={number}, expected A (or 1)", field_name=key)


@dataclass(frozen=True)
class _GenotypePlan:
    """Populations counted from genotypes: member samples grouped by population, and sample sexes."""

    names: tuple[str, ...]
    members: np.ndarray
    starts: np.ndarray
    males: np.ndarray | None
    females: np.ndarray | None


def _genotype_plan(samples: list[str], panel: SamplePanel | None, split_by_sex: bool) -> _GenotypePlan:
    groups: dict[str, list[int]] = {TOTAL: list(range(len(samples)))}
    males = np.zeros(len(samples), dtype=bool)
    females = np.zeros(len(samples), dtype=bool)
    for index, sample in enumerate(samples):
        population = panel.populations.get(sample) if panel else None
        sex = panel.sexes.get(sample) if panel else None
        males[index], females[index] = sex == "M", sex == "F"
        if population is not None:
            groups.setdefault(population, []).append(index)
            if sex and split_by_sex:
                groups.setdefault(f"{population}_{sex}", []).append(index)
    names = tuple(sorted(groups, key=lambda name: (name != TOTAL, name)))
    members = np.array([index for name in names for index in groups[name]], dtype=np.intp)
    starts = np.cumsum([0] + [len(groups[name]) for name in names[:-1]], dtype=np.intp)
    known = males.any() or females.any()
    return _GenotypePlan(names, members, starts, males if known else None, females if known else None)


def _genotype_matrix(variant: Any, plan: _GenotypePlan, sex_aware: bool, chromosome: str) -> np.ndarray:
    """Alleles per sample and ploidy slot (-1 missing, -2 absent), with the X/Y sex rules applied."""
    alleles = variant.genotype.array()[:, :-1]
    if not sex_aware or plan.males is None or alleles.shape[1] < 2:
        return alleles
    alleles = alleles.copy()
    if chromosome == "Y":
        alleles[plan.females] = -1
    collapse = plan.males & (alleles[:, 0] == alleles[:, 1])
    alleles[collapse, 1] = -2
    return alleles


def _sample_counts(alleles: np.ndarray, n_alts: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: (columns AN, then AC/het/hom/hemi per ALT; zygosity code 0 none 1 het 2 hom 3 hemi)."""
    if alleles.shape[1] != 2:
        return _sample_counts_any_ploidy(alleles, n_alts)
    first, second = alleles[:, 0], alleles[:, 1]
    first_called = first >= 0
    second_called = second >= 0
    diploid = first_called & second_called
    same = first == second
    zygosity = np.zeros(len(alleles), dtype=np.int8)
    zygosity[diploid & ~same] = 1
    zygosity[diploid & same] = 2
    zygosity[(second == -2) & first_called] = 3
    columns = [first_called.astype(np.int32) + second_called]
    for alt in range(1, n_alts + 1):
        count = (first == alt).astype(np.int32) + (second == alt)
        columns.extend((count, count * (zygosity == 1), count * (zygosity == 2), count * (zygosity == 3)))
    return np.stack(columns, axis=1), zygosity


def _sample_counts_any_ploidy(alleles: np.ndarray, n_alts: int) -> tuple[np.ndarray, np.ndarray]:
    called = alleles >= 0
    ploidy = (alleles != -2).sum(axis=1)
    zygosity = np.zeros(len(alleles), dtype=np.int8)
    zygosity[(ploidy == 1) & called[:, 0]] = 3
    if alleles.shape[1] >= 2:
        diploid = (ploidy == 2) & called[:, 0] & called[:, 1]
        same = alleles[:, 0] == alleles[:, 1]
        zygosity[diploid & ~same] = 1
        zygosity[diploid & same] = 2
    columns = [called.sum(axis=1)]
    for alt in range(1, n_alts + 1):
        count = (alleles == alt).sum(axis=1)
        columns.extend((count, count * (zygosity == 1), count * (zygosity == 2), count * (zygosity == 3)))
    return np.stack(columns, axis=1), zygosity


def _genotype_frequencies(
    counts: np.ndarray, plan: _GenotypePlan, n_alts: int
) -> list[tuple[PopulationFrequency, ...]]:
    totals = np.add.reduceat(counts[plan.members], plan.starts, axis=0).tolist()
    result = []
    for alt in range(n_alts):
        column = 1 + 4 * alt
        frequencies = []
        for name, row in zip(plan.names, totals, strict=True):
            number = row[0]
            if number:
                allele_count, het, hom, hemi = row[column : column + 4]
                frequencies.append(_new_frequency((name, allele_count / number, allele_count, number, hom, het, hemi)))
        result.append(tuple(frequencies))
    return result


# -- annotations --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AnnotationPlan:
    """Where gene symbol, protein change and allele sit in a VEP CSQ or SnpEff ANN entry."""

    key: str
    allele: int
    allele_number: int
    symbol: int
    protein: int
    consequence: int
    vep: bool


def _annotation_plan(descriptions: Mapping[str, str]) -> _AnnotationPlan | None:
    for key, vep, separator in (("CSQ", True, "Format:"), ("ANN", False, "Functional annotations:")):
        description = descriptions.get(key)
        if description is None or separator not in description:
            continue
        names = [name.strip(" '\"") for name in description.split(separator, 1)[1].split("|")]
        symbol, protein, consequence = (
            ("SYMBOL", "HGVSp", "Consequence") if vep else ("Gene_Name", "HGVS.p", "Annotation")
        )
        if "Allele" in names and symbol in names:
            position = {name: index for index, name in enumerate(names)}
            return _AnnotationPlan(
                key, position["Allele"], position.get("ALLELE_NUM", -1), position[symbol],
                position.get(protein, -1), position.get(consequence, -1), vep,
            )  # fmt: skip
    return None


def _annotations(plan: _AnnotationPlan, text: str, ref: str, alts: list[str]) -> list[tuple[tuple[str, ...], ...]]:
    """Per ALT: (gene symbols, one-letter amino-acid changes, protein HGVS ids)."""
    width = 1 + max(plan.allele, plan.allele_number, plan.symbol, plan.protein, plan.consequence)
    entries = [entry for entry in (item.split("|") for item in text.split(",")) if len(entry) >= width]
    names = _vep_alleles(ref, alts) if plan.vep else alts
    result = []
    for index, name in enumerate(names):
        chosen = [entry for entry in entries if _annotates(plan, entry, index, name)]
        if not chosen and len(alts) == 1:
            chosen = entries
        result.append(_summarise_annotations(plan, chosen))
    return result


def _annotates(plan: _AnnotationPlan, entry: list[str], index: int, name: str) -> bool:
    if plan.allele_number >= 0 and entry[plan.allele_number].isdigit():
        return int(entry[plan.allele_number]) == index + 1
    return entry[plan.allele] == name


def _vep_alleles(ref: str, alts: list[str]) -> list[str]:
    # VEP drops the first base when all alleles share it and their lengths differ (indels).
    if any(len(alt) != len(ref) for alt in alts) and all(alt[:1] == ref[:1] for alt in alts):
        return [alt[1:] or "-" for alt in alts]
    return alts


def _summarise_annotations(plan: _AnnotationPlan, entries: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    genes: dict[str, None] = {}
    changes: dict[str, None] = {}
    proteins: dict[str, None] = {}
    for entry in entries:
        if entry[plan.symbol] and not _outside_gene(entry, plan.consequence):
            genes[entry[plan.symbol]] = None
        protein = unquote(entry[plan.protein]) if plan.protein >= 0 else ""
        change = short_protein_change(protein)
        if change:
            changes[change] = None
            if plan.vep and ":p." in protein:
                proteins[protein] = None
    return tuple(genes), tuple(changes), tuple(proteins)


def _outside_gene(entry: list[str], consequence_at: int) -> bool:
    # Up/downstream and intergenic entries name neighbouring genes, which a geneId query must not find.
    if consequence_at < 0 or consequence_at >= len(entry):
        return False
    return set(entry[consequence_at].split("&")) <= _OUTSIDE_GENE


def short_protein_change(hgvs_protein: str) -> str | None:
    """`R534Q` for `ENSP00000356770.3:p.Arg534Gln` or `p.Arg534Gln`; None when there is no change."""
    change = hgvs_protein.rsplit(":", 1)[-1]
    if not change.startswith("p."):
        return None
    change = change[2:].strip("()")
    if change in ("", "?", "=", "0"):
        return None
    return _AMINO_ACID.sub(lambda match: _AMINO_ACIDS[match.group()], change)


# -- file-level checks and error diagnosis ---------------------------------------------------------------

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _is_bgzf(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(18)
    return head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _check_bgzf_end(path: Path) -> None:
    # htslib only warns when the end-of-file block is missing and then loads a truncated file silently.
    if not _is_bgzf(path):
        return
    with path.open("rb") as handle:
        handle.seek(max(path.stat().st_size - len(_BGZF_EOF), 0))
        if handle.read() != _BGZF_EOF:
            raise VcfError(path, "the file ends without the BGZF end-of-file block; it is probably truncated")


def _compression_damage(path: Path) -> str | None:
    """Why a gzip-compressed file cannot be decompressed, or None when it can (or is not gzip)."""
    with path.open("rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return None
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except (EOFError, OSError) as error:
        return f"the compressed data is truncated or corrupt ({error})"
    return None


def _open_text(path: Path) -> Any:
    with path.open("rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _header_line_count(path: Path) -> int | None:
    """Lines before the first record of a text VCF; None for BCF or unreadable files."""
    count = 0
    try:
        with _open_text(path) as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                count += 1
    except (OSError, EOFError, UnicodeError):
        return None
    return count if count else None


def _diagnose_line(path: Path, line_number: int) -> tuple[str, str]:
    """(field, problem) for a record htslib rejected, from the raw text of its line."""
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if number == line_number:
                    field_name, problem = _diagnose_columns(line)
                    if not field_name:
                        for _ in handle:  # a damaged stream further on is the likelier cause
                            pass
                    return field_name, problem
        return "", "the file ends in the middle of a record"
    except (EOFError, OSError) as error:
        return "", f"the compressed data is truncated or corrupt ({error})"


def _diagnose_columns(line: str) -> tuple[str, str]:
    columns = line.rstrip("\r\n").split("\t")
    if len(columns) < 8:
        return "columns", f"expected at least 8 tab-separated columns, found {len(columns)}"
    names = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
    for name, value in zip(names, columns, strict=False):
        if not value:
            return name, "empty column"
    if not columns[1].isdigit():
        return "POS", f"{columns[1]!r} is not a position"
    return "", "htslib could not parse the record"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _RawLines:
    """Record lines of a text VCF read forward on demand: htslib turns junk numbers into `.`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: Any = None
        self.number = 0
        self.current: str | None = None

    def line(self, record_number: int) -> str | None:
        """The text of a record (1-based, at or after the last one asked for); None for BCF."""
        if self.handle is None:
            if _header_line_count(self.path) is None:
                return None
            self.handle = _open_text(self.path)
        while self.number < record_number:
            self.current = next(self.handle, None)
            if self.current is None:
                return None
            if not self.current.startswith("#"):
                self.number += 1
        return self.current

    def close(self) -> None:
        """Close the text handle if one was opened."""
        if self.handle is not None:
            self.handle.close()


# -- the reader ---------------------------------------------------------------------------------------

_NO_ANNOTATIONS: tuple[tuple[str, ...], ...] = ((), (), ())


class _VcfReader:
    """Iterates one file: opens it, plans frequencies and annotations once, converts each record."""

    def __init__(self, path: Path, options: VcfOptions, report: LoadReport, make: Callable[..., Any]) -> None:
        self.path = path
        self.make = make  # VcfAllele, or a document maker taking the same arguments
        self.options = options
        self.report = report
        self.assembly = normalise_assembly(options.assembly)
        self.record_number = 0
        self.variant: Any = None
        self.contigs: dict[str, str] = {}
        self.seen_chromosome = ""
        self.seen_position = 0
        self.seen: set[tuple[str, str]] = set()
        report.path = str(path)

    def open(self) -> Iterator[VcfAllele]:
        """Open the file and plan its reading now (header problems raise here); iterate for alleles."""
        vcf = self._open()
        try:
            self._plan(vcf)
        except BaseException:
            vcf.close()
            raise
        return self._alleles(vcf)

    def _alleles(self, vcf: Any) -> Iterator[VcfAllele]:
        self.raw_lines = _RawLines(self.path)
        try:
            yield from self._records(vcf)
        finally:
            vcf.close()
            self.raw_lines.close()

    def _open(self) -> Any:
        if not self.path.is_file():
            raise VcfError(self.path, "no such file")
        _check_bgzf_end(self.path)
        threads = self.options.decompression_threads if _is_bgzf(self.path) else 0
        try:
            return cyvcf2.VCF(str(self.path), lazy=True, threads=threads or None)
        except Exception as error:  # cyvcf2 raises bare Exception/OSError for unreadable headers
            damage = _compression_damage(self.path)
            if damage:
                raise VcfError(self.path, damage) from None
            raise VcfError(self.path, f"not a readable VCF/BCF file ({error})", field_name="header") from None

    def _plan(self, vcf: Any) -> None:
        infos: dict[str, tuple[str, str]] = {}
        descriptions: dict[str, str] = {}
        for line in vcf.header_iter():
            info = line.info()
            if info.get("HeaderType") == "INFO" and "ID" in info:
                infos[info["ID"]] = (info.get("Number", ""), info.get("Type", ""))
                descriptions[info["ID"]] = info.get("Description", "")
        self.samples = list(vcf.samples)
        self._check_samples()
        options = self.options
        self.info_plan = None
        self.info_modes: tuple[str, ...] = ()
        self.info_getters: tuple[tuple[str, int, Callable[[list[Any]], tuple[Any, ...]]], ...] = ()
        self.info_keys: list[bytes] = []
        if options.sample_panel is None:
            populations = (
                options.population_map.populations if options.population_map else detect_population_fields(infos)
            )
            if populations:
                self.info_plan = _info_plan(self.path, populations, infos)
                self.info_modes = _info_modes(self.info_plan, infos)
                self.info_getters = _info_getters(self.info_plan)
                self.info_keys = [key.encode() for key in self.info_plan.keys]
        self.genotype_plan = None
        if self.samples and (self.info_plan is None or options.case_level):
            panel = options.sample_panel if self.info_plan is None else None
            self.genotype_plan = _genotype_plan(self.samples, panel, options.split_by_sex)
        self.counts_genotypes = self.info_plan is None and self.genotype_plan is not None
        self.annotation_plan = _annotation_plan(descriptions)

    def _check_samples(self) -> None:
        options = self.options
        if options.sample_panel and options.population_map:
            raise VcfError(self.path, "frequencies come from a populations map or a sample panel, not both")
        needs = "--case-level" if options.case_level else "--sample-panel" if options.sample_panel else ""
        if needs and not self.samples:
            raise VcfError(self.path, f"{needs} needs genotypes but the file has no samples")
        if options.sample_panel and not set(self.samples) & set(options.sample_panel.populations):
            raise VcfError(self.path, "none of the VCF samples is in the sample panel")

    def _records(self, vcf: Any) -> Iterator[VcfAllele]:
        iterator = iter(vcf)
        report = self.report
        convert = self._convert
        while True:
            try:
                variant = next(iterator)
            except StopIteration:
                return
            except Exception as error:  # htslib parse failures surface as bare Exceptions
                raise self._parse_failure(error) from None
            self.record_number += 1
            report.records += 1
            self.variant = variant
            alleles = convert(variant)
            report.loaded += len(alleles)
            yield from alleles

    # -- one record ---------------------------------------------------------------------------------
    # This runs for every record, so it inlines the common case and leaves the rest to helpers.

    def _convert(self, variant: Any) -> list[VcfAllele]:
        """The loadable alleles of one record."""
        alts = variant.ALT
        self.report.alleles += len(alts)
        chromosome = self.contigs.get(variant.CHROM) or self._new_contig(variant.CHROM)
        if not chromosome or not alts:
            self.report.skip(SKIP_NO_ALT if chromosome else SKIP_UNKNOWN_CONTIG, max(len(alts), 1))
            return []
        position = variant.POS
        ref = variant.REF
        if not (ref.isupper() and _BASES.issuperset(ref)):
            ref = self._reference(ref)
        genotypes = self._genotypes(variant, chromosome, position, len(alts)) if self.genotype_plan else None
        frequencies = self._frequencies(variant, genotypes, len(alts))
        if frequencies is None:
            self.report.skip(SKIP_VALUE_COUNT, len(alts))
            return []
        ids = variant.ID
        rs_ids = _rs_ids(ids) if ids else ()
        annotations = self._annotations(variant, ref, alts) if self.annotation_plan else None
        seen = self._seen_at(chromosome, position)
        result = []
        for index, alt in enumerate(alts):
            frequencies_of = frequencies[index]
            if not (_BASES.issuperset(alt) and alt != ref and self._counted(frequencies_of)) or (ref, alt) in seen:
                alt = self._skipped(alt, ref, frequencies_of, seen)
                if alt is None:
                    continue
            seen.add((ref, alt))
            genes, changes, proteins = annotations[index] if annotations else _NO_ANNOTATIONS
            carriers = self._carriers(genotypes, index) if self.options.case_level else ()
            result.append(
                self.make(chromosome, position, ref, alt, rs_ids, frequencies_of, carriers, genes, changes, proteins)
            )
        return result

    def _counted(self, frequencies: tuple[PopulationFrequency, ...]) -> bool:
        return self.options.keep_zero_count or not _has_no_carrier(frequencies, self.counts_genotypes)

    def _skipped(
        self, alt: str, ref: str, frequencies: tuple[PopulationFrequency, ...], seen: set[tuple[str, str]]
    ) -> str | None:
        """The ALT upper-cased if it is loadable after all, else None after counting why not."""
        alt = alt.upper()
        reason = None
        if not _BASES.issuperset(alt) or not alt:
            reason = _alt_skip_reason(alt)
        elif alt == ref:
            reason = SKIP_SAME_AS_REF
        elif not self._counted(frequencies):
            reason = SKIP_ZERO_COUNT
        elif (ref, alt) in seen:
            reason = SKIP_DUPLICATE
        if reason is None:
            return alt
        self.report.skip(reason)
        return None

    def _seen_at(self, chromosome: str, position: int) -> set[tuple[str, str]]:
        """Alleles loaded at this position: records of one position are adjacent in a sorted VCF."""
        if self.seen_position != position or self.seen_chromosome != chromosome:
            self.seen_position = position
            self.seen_chromosome = chromosome
            self.seen = set()
        return self.seen

    def _new_contig(self, contig: str) -> str:
        """The canonical chromosome of a contig seen first; "" when unknown contigs are skipped."""
        try:
            chromosome = normalise_chromosome(contig, self.assembly)
        except ValueError as error:
            if not self.options.skip_unknown_contigs:
                raise self._error(str(error), "CHROM") from None
            chromosome = ""
        self.contigs[contig] = chromosome
        return chromosome

    def _reference(self, ref: str) -> str:
        ref = ref.upper()
        if not _BASES.issuperset(ref) or not ref:
            raise self._error(f"{ref!r} is not a sequence of IUPAC bases", "REF")
        return ref

    # -- frequencies --------------------------------------------------------------------------------

    def _frequencies(
        self, variant: Any, genotypes: tuple[np.ndarray, np.ndarray] | None, n_alts: int
    ) -> list[tuple[PopulationFrequency, ...]] | None:
        if self.info_plan is not None:
            return self._info_frequencies(variant, n_alts)
        if genotypes is not None:
            return _genotype_frequencies(genotypes[0], self.genotype_plan, n_alts)  # type: ignore[arg-type]
        return [()] * n_alts

    def _info_frequencies(self, variant: Any, n_alts: int) -> list[tuple[PopulationFrequency, ...]] | None:
        """Frequencies per ALT; None when a Number=A field has the wrong number of values."""
        info = variant.INFO
        try:  # indexing with bytes keys is several times faster than INFO.get(str)
            values = [info[key] for key in self.info_keys]
        except KeyError:  # a field absent from this record
            values = [info.get(key) for key in self.info_keys]
        if n_alts == 1:
            if None in values:
                self._check_missing(values)
            if tuple in map(type, values) and not self._counts_match(values, 1):
                return None
            values.append(None)  # index -1: an absent field
            return [self._population_frequencies(values)]
        if any(value is None or (type(value) is tuple and None in value) for value in values):
            self._check_missing(values)
        if not self._counts_match(values, n_alts):
            return None
        return [self._population_frequencies(self._allele_values(values, index)) for index in range(n_alts)]

    def _population_frequencies(self, values: list[Any]) -> tuple[PopulationFrequency, ...]:
        result = []
        new = tuple.__new__
        for name, frequency_at, getter in self.info_getters:
            count, number, homozygous, heterozygous, hemizygous = getter(values)
            if frequency_at >= 0:
                frequency = values[frequency_at]
            elif count is not None and number:
                frequency = count / number
            else:
                continue
            if frequency is not None:
                row = (name, frequency, count, number, homozygous, heterozygous, hemizygous)
                result.append(new(PopulationFrequency, row))
        return tuple(result)

    def _allele_values(self, values: list[Any], index: int) -> list[Any]:
        picked = [
            value[index] if mode == "A" and value is not None else None if mode == "single" else value
            for value, mode in zip(values, self.info_modes, strict=True)
        ]
        picked.append(None)
        return picked

    def _counts_match(self, values: list[Any], n_alts: int) -> bool:
        # Splitting multi-allelic records without fixing Number=A fields (as the ExAC excerpt
        # shows) leaves values that cannot be assigned to an allele: such records are skipped.
        for value, mode in zip(values, self.info_modes, strict=True):
            found = len(value) if type(value) is tuple else 1
            if value is not None and found != (n_alts if mode == "A" else 1):
                return False
        return True

    def _check_missing(self, values: list[Any]) -> None:
        """Raise when a value htslib turned into 'missing' was not `.` in the file."""
        line = self.raw_lines.line(self.record_number)
        if line is None:  # BCF: values are typed, so a missing one is missing
            return
        raw = _raw_info(line)
        for key, value in zip(self.info_plan.keys, values, strict=True):  # type: ignore[union-attr]
            if value is None or (type(value) is tuple and None in value):
                text = raw.get(key)
                bad = [part for part in (text or ".").split(",") if part != "." and not _is_number(part)]
                if bad:
                    raise self._error(f"{text!r} is not a number", f"INFO/{key}")

    # -- genotypes, carriers, annotations -------------------------------------------------------------

    def _genotypes(self, variant: Any, chromosome: str, position: int, n_alts: int) -> tuple[np.ndarray, np.ndarray]:
        plan = self.genotype_plan
        sex_aware = chromosome in ("X", "Y") and not is_pseudoautosomal(self.assembly, chromosome, position)
        alleles = _genotype_matrix(variant, plan, sex_aware, chromosome)  # type: ignore[arg-type]
        return _sample_counts(alleles, n_alts)

    def _carriers(
        self, genotypes: tuple[np.ndarray, np.ndarray] | None, index: int
    ) -> tuple[tuple[str, str | None], ...]:
        if genotypes is None:
            return ()
        counts, zygosity = genotypes
        carrying = np.flatnonzero(counts[:, 1 + 4 * index]).tolist()
        samples = self.samples
        return tuple(
            (samples[at], _ZYGOSITY_LABELS[code])
            for at, code in zip(carrying, zygosity[carrying].tolist(), strict=True)
        )

    def _annotations(self, variant: Any, ref: str, alts: list[str]) -> list[tuple[tuple[str, ...], ...]] | None:
        plan = self.annotation_plan
        text = variant.INFO.get(plan.key)  # type: ignore[union-attr]
        if not text or not isinstance(text, str):
            return None
        return _annotations(plan, text, ref, alts)  # type: ignore[arg-type]

    # -- errors -------------------------------------------------------------------------------------

    def _where(self, record_number: int, after: bool = False) -> str:
        header_lines = _header_line_count(self.path)
        line = f"line {header_lines + record_number}, " if header_lines else ""
        variant = self.variant
        position = f"{variant.CHROM}:{variant.POS}" if variant is not None else "start of data"
        return f"record {record_number} ({line}{'after ' if after else ''}{position})"

    def _error(self, problem: str, field_name: str) -> VcfError:
        return VcfError(self.path, problem, where=self._where(self.record_number), field_name=field_name)

    def _parse_failure(self, error: Exception) -> VcfError:
        failed = self.record_number + 1
        header_lines = _header_line_count(self.path)
        if header_lines is None:
            field_name, problem = "", f"htslib could not read the record ({error})"
        else:
            field_name, problem = _diagnose_line(self.path, header_lines + failed)
        return VcfError(self.path, problem, where=self._where(failed, after=True), field_name=field_name)


def _new_frequency(values: tuple[Any, ...]) -> PopulationFrequency:
    return tuple.__new__(PopulationFrequency, values)


def _info_getters(plan: _InfoPlan) -> tuple[tuple[str, int, Callable[[list[Any]], tuple[Any, ...]]], ...]:
    """Per population: (name, index of its frequency or -1, getter of its five counts)."""
    return tuple((name, at_af, itemgetter(*counts)) for name, at_af, *counts in plan.populations)


def _info_modes(plan: _InfoPlan, infos: Mapping[str, tuple[str, str]]) -> tuple[str, ...]:
    """Per fetched key: `A` (one value per ALT), `shared` (one for all) or `single` (1 for single-ALT only)."""
    shared = {key for *_, key in _plan_keys_of_kind(plan, "allele_number")}
    modes = []
    for key, per_allele in zip(plan.keys, plan.per_allele, strict=True):
        modes.append("A" if per_allele else "shared" if key in shared or infos[key][0] != "1" else "single")
    return tuple(modes)


def _plan_keys_of_kind(plan: _InfoPlan, kind: str) -> Iterator[tuple[str, str]]:
    offset = 1 + _FIELD_KINDS.index(kind)
    for row in plan.populations:
        if row[offset] >= 0:
            yield row[0], plan.keys[row[offset]]


def _rs_ids(ids: str) -> tuple[str, ...]:
    if ";" not in ids:
        return (ids,) if ids[:2] == "rs" and ids[2:].isdigit() else ()
    return tuple(token for token in ids.split(";") if token[:2] == "rs" and token[2:].isdigit())


def _raw_info(line: str) -> dict[str, str]:
    columns = line.split("\t", 8)
    info = columns[7] if len(columns) > 7 else ""
    return dict(item.split("=", 1) for item in info.split(";") if "=" in item)


def _alt_skip_reason(alt: str) -> str:
    if alt.startswith("<") and alt.endswith(">"):
        return f"{SKIP_SYMBOLIC} {alt}"
    if alt == "*":
        return SKIP_STAR
    if "[" in alt or "]" in alt or alt.startswith(".") or alt.endswith("."):
        return SKIP_BREAKEND
    return SKIP_BAD_BASES


def _has_no_carrier(frequencies: tuple[PopulationFrequency, ...], from_genotypes: bool) -> bool:
    """True when the Total population says no sample carries the allele."""
    if not frequencies or frequencies[0][0] != TOTAL:
        return from_genotypes  # genotypes give Total unless no genotype was called
    total = frequencies[0]
    count = total[2]
    return count == 0 if count is not None else total[1] == 0
