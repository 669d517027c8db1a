"""Reads one VCF/BCF file with cyvcf2 and converts each record into one item per loadable ALT allele.

`VcfReader.open` reads the header and makes the per-file plans (INFO frequencies, genotype
counting, annotations) so header problems raise at once; iterating converts record by record.
The per-record path runs millions of times, so it keeps the common case inline and in locals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cyvcf2

from beacon.genome import normalise_assembly, normalise_chromosome
from beacon.store.base import PopulationFrequency
from loaders.vcf_annotations import NO_ANNOTATIONS, Annotations, annotation_plan, annotations
from loaders.vcf_diagnosis import (
    RawLines,
    compression_damage,
    diagnose_line,
    header_line_count,
    is_bgzf,
    missing_bgzf_end,
    non_numeric_value,
)
from loaders.vcf_genotypes import GenotypeCounter, SampleCounts
from loaders.vcf_header import check_header_assembly, check_panel_coverage
from loaders.vcf_info import InfoFrequencies
from loaders.vcf_populations import detect_population_fields, labelled_panel
from loaders.vcf_structural import SvShape, is_structural, raw_sample_value, sv_shape
from loaders.vcf_types import (
    SKIP_BAD_BASES,
    SKIP_BREAKEND,
    SKIP_DUPLICATE,
    SKIP_NO_ALT,
    SKIP_SAME_AS_REF,
    SKIP_STAR,
    SKIP_SYMBOLIC,
    SKIP_UNKNOWN_CONTIG,
    SKIP_VALUE_COUNT,
    SKIP_ZERO_COUNT,
    TOTAL,
    LoadReport,
    SamplePanel,
    VcfError,
    VcfOptions,
)

Frequencies = tuple[PopulationFrequency, ...]
MakeAllele = Callable[..., Any]
"""Builds the item for one allele from the assembly and then the `VcfAllele` fields in order."""

_BASES = frozenset("ACGTUNRYSWKMBDHV")


class VcfReader:
    """Iterates one file: opens it, plans frequencies and annotations once, converts each record."""

    def __init__(self, path: Path, options: VcfOptions, report: LoadReport, make: MakeAllele) -> None:
        self.path = path
        self.make = make
        self.options = options
        self.report = report
        self.assembly = normalise_assembly(options.assembly)
        self.keep_zero_count = options.keep_zero_count
        self.case_level = options.case_level  # genotypes are counted whenever this is set
        self.record_number = 0
        self.variant: Any = None
        self.contigs: dict[str, str] = {}
        self.seen_chromosome = ""
        self.seen_position = 0
        self.seen: set[tuple[str, str]] = set()
        self.raw_lines = RawLines(path)
        report.path = str(path)

    def open(self) -> Iterator[Any]:
        """Open the file and plan its reading now (header problems raise here); iterate for alleles."""
        vcf = self._open()
        try:
            self._plan(vcf)
        except BaseException:
            vcf.close()
            raise
        return self._iterate(vcf)

    def check_header(self) -> dict[str, int | None]:
        """Open the file and make the header checks only (they raise VcfError); the populations and their samples.

        Populations counted from genotypes map to their number of samples (`Total`: every sample), those
        read from INFO fields to None.
        """
        vcf = self._open()
        try:
            self._plan(vcf)
        finally:
            vcf.close()
            self.raw_lines.close()
        if not self.counts_genotypes:
            return dict.fromkeys(self.info_populations)
        panel = self._panel_groups()[0]
        counts: dict[str, int | None] = {TOTAL: len(self.samples)}
        for sample in self.samples:
            population = panel.populations.get(sample) if panel is not None else None
            if population is not None:
                counts[population] = (counts.get(population) or 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (item[0] != TOTAL, item[0])))

    def _iterate(self, vcf: Any) -> Iterator[Any]:
        iterator = iter(vcf)
        report = self.report
        convert = self._convert
        try:
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
        finally:
            vcf.close()
            self.raw_lines.close()

    def _open(self) -> Any:
        if not self.path.is_file():
            raise VcfError(self.path, "no such file")
        truncated = missing_bgzf_end(self.path)
        if truncated:
            raise VcfError(self.path, truncated)
        threads = self.options.decompression_threads if is_bgzf(self.path) else 0
        try:
            return cyvcf2.VCF(str(self.path), lazy=True, threads=threads or None)
        except Exception as error:  # cyvcf2 raises bare Exception/OSError for unreadable headers
            damage = compression_damage(self.path)
            if damage:
                raise VcfError(self.path, damage) from None
            raise VcfError(self.path, f"not a readable VCF/BCF file ({error})", field_name="header") from None

    def _plan(self, vcf: Any) -> None:
        infos, descriptions = _header_infos(vcf)
        if not self.options.ignore_header_assembly:
            check_header_assembly(self.path, vcf.raw_header, self.options.assembly)
        self.samples = list(vcf.samples)
        self._check_samples()
        options = self.options
        self.info: InfoFrequencies | None = None
        self.info_populations: tuple[str, ...] = ()
        if options.sample_panel is None:
            populations = (
                options.population_map.populations if options.population_map else detect_population_fields(infos)
            )
            if populations:
                self.info = InfoFrequencies(self.path, populations, infos, self._check_missing)
                self.info_populations = tuple(population.population for population in populations)
        self.genotypes: GenotypeCounter | None = None
        if options.case_level and not _readable_genotypes(vcf):
            raise VcfError(self.path, "--case-level needs a FORMAT GT of Type=String", field_name="FORMAT/GT")
        # Without a readable GT (Manta's PR/SR only, gCNV's Integer-typed GT) there is nothing to count.
        if self.samples and (self.info is None or options.case_level) and _readable_genotypes(vcf):
            panel, split_by_sex, sex_totals = self._panel_groups() if self.info is None else (None, False, False)
            self.genotypes = GenotypeCounter(self.samples, panel, split_by_sex, self.assembly, sex_totals)
        self.counts_genotypes = self.info is None and self.genotypes is not None
        self.annotation_plan = annotation_plan(descriptions)

    def _panel_groups(self) -> tuple[SamplePanel | None, bool, bool]:
        """The panel genotypes are counted by (its labels from the map, if any), the sex split, the sex totals."""
        options = self.options
        population_map = options.population_map
        if options.sample_panel is None or population_map is None:
            return options.sample_panel, options.split_by_sex, False
        panel = labelled_panel(options.sample_panel, population_map, self.path)
        return panel, population_map.split_by_sex, population_map.split_by_sex

    def _check_samples(self) -> None:
        options = self.options
        population_map = options.population_map
        if population_map is not None and population_map.panel_labels and options.sample_panel is None:
            raise VcfError(self.path, "the populations map names panelPopulations: it needs a sample panel")
        if options.sample_panel and population_map and not population_map.panel_labels:
            problem = "frequencies come from the INFO fields a populations map names or from a sample panel, not both"
            raise VcfError(self.path, problem)
        needs = "--case-level" if options.case_level else "--sample-panel" if options.sample_panel else ""
        if needs and not self.samples:
            raise VcfError(self.path, f"{needs} needs genotypes but the file has no samples")
        if options.sample_panel and not set(self.samples) & set(options.sample_panel.populations):
            raise VcfError(self.path, "none of the VCF samples is in the sample panel")
        if options.sample_panel:
            check_panel_coverage(self.path, self.samples, options.sample_panel, options.allow_unpanelled_samples)

    # -- one record ---------------------------------------------------------------------------------

    def _convert(self, variant: Any) -> list[Any]:
        """The loadable alleles of one record."""
        alts = variant.ALT
        n_alts = len(alts)
        self.report.alleles += n_alts
        chromosome = self.contigs.get(variant.CHROM) or self._new_contig(variant.CHROM)
        if not chromosome or not n_alts:
            self.report.skip(SKIP_NO_ALT if chromosome else SKIP_UNKNOWN_CONTIG, max(n_alts, 1))
            return []
        position = variant.POS
        ref = variant.REF
        if not (ref.isupper() and _BASES.issuperset(ref)):
            ref = self._reference(ref)
        genotypes = self.genotypes.count(variant, chromosome, position, n_alts) if self.genotypes is not None else None
        if self.info is not None:
            frequencies = self.info.read(variant, n_alts)
            if frequencies is None:
                self.report.skip(SKIP_VALUE_COUNT, n_alts)
                return []
        elif genotypes is not None:
            frequencies = self.genotypes.frequencies(genotypes, n_alts)  # type: ignore[union-attr]
        else:
            frequencies = [()] * n_alts
        if position != self.seen_position or chromosome != self.seen_chromosome:
            self.seen_position, self.seen_chromosome, self.seen = position, chromosome, set()
        return self._alleles(variant, chromosome, position, ref, alts, frequencies, genotypes)

    def _alleles(
        self,
        variant: Any,
        chromosome: str,
        position: int,
        ref: str,
        alts: list[str],
        frequencies: list[Frequencies],
        genotypes: SampleCounts | None,
    ) -> list[Any]:
        rs_ids = _rs_ids(variant.ID)
        annotated = self._annotations(variant, ref, alts) if self.annotation_plan else None
        seen = self.seen
        check_count = not self.keep_zero_count
        make = self.make
        assembly = self.assembly
        result = []
        for index, alt in enumerate(alts):
            frequencies_of = frequencies[index]
            structure = None
            if (
                not (_BASES.issuperset(alt) and alt != ref)
                or (ref, alt) in seen
                or (check_count and _no_carrier(frequencies_of, self.counts_genotypes))
            ):
                if alt and not _BASES.issuperset(alt) and is_structural(alt):
                    structure = self._structure(variant, index, alt, ref, chromosome, frequencies_of)
                    if structure is None:
                        continue
                else:
                    alt = self._skipped(alt, ref, frequencies_of)
                    if alt is None:
                        continue
                    seen.add((ref, alt))
            else:
                seen.add((ref, alt))
            genes, changes, proteins = annotated[index] if annotated else NO_ANNOTATIONS
            carriers = self.genotypes.carriers(genotypes, index) if self.case_level else ()  # type: ignore[union-attr,arg-type]
            result.append(make(
                assembly, chromosome, position, ref, alt, rs_ids, frequencies_of, carriers, genes, changes, proteins,
                structure,
            ))  # fmt: skip
        return result

    def _structure(
        self, variant: Any, index: int, alt: str, ref: str, chromosome: str, frequencies: Frequencies
    ) -> SvShape | None:
        """The shape of a symbolic or breakend allele, or None after counting why it is skipped."""
        shape = sv_shape(variant, index, alt, ref, chromosome, self.assembly, self._sample_copies)
        if isinstance(shape, str):
            self.report.skip(shape)
            return None
        key = (ref, f"{alt}>{shape.end}>{shape.mate_chromosome}:{shape.mate_start}")
        reason = None
        # Raw caller output has no genotype calls (`./.`): that says nothing of carriers, so it loads.
        called = not self.counts_genotypes or bool(frequencies and frequencies[0][3])
        if called and not self.keep_zero_count and _no_carrier(frequencies, self.counts_genotypes):
            reason = SKIP_ZERO_COUNT
        elif key in self.seen:
            reason = SKIP_DUPLICATE
        if reason is not None:
            self.report.skip(reason)
            return None
        self.seen.add(key)
        return shape

    def _skipped(self, alt: str, ref: str, frequencies: Frequencies) -> str | None:
        """The ALT upper-cased if it is loadable after all, else None after counting why not."""
        alt = alt.upper()
        reason = None
        if not _BASES.issuperset(alt) or not alt:
            reason = _alt_skip_reason(alt)
        elif alt == ref:
            reason = SKIP_SAME_AS_REF
        elif not self.keep_zero_count and _no_carrier(frequencies, self.counts_genotypes):
            reason = SKIP_ZERO_COUNT
        elif (ref, alt) in self.seen:
            reason = SKIP_DUPLICATE
        if reason is None:
            return alt
        self.report.skip(reason)
        return None

    def _sample_copies(self) -> int | None:
        if len(self.samples) != 1:
            return None
        return raw_sample_value(self.raw_lines.line(self.record_number), "CN")

    def _new_contig(self, contig: str) -> str:
        """The canonical chromosome of a contig seen first; "" when unknown contigs are skipped."""
        try:
            chromosome = normalise_chromosome(contig, self.assembly)
        except ValueError as error:
            if not self.options.skip_unknown_contigs:
                raise self._error(str(error), "CHROM") from None
            chromosome = ""
        self.contigs[contig] = chromosome
        if chromosome:
            self.report.contigs.add(chromosome)
        return chromosome

    def _reference(self, ref: str) -> str:
        ref = ref.upper()
        if not _BASES.issuperset(ref) or not ref:
            raise self._error(f"{ref!r} is not a sequence of IUPAC bases", "REF")
        return ref

    def _check_missing(self, values: tuple[Any, ...]) -> None:
        """Raise when a value htslib turned into 'missing' was not `.` in the file."""
        line = self.raw_lines.line(self.record_number)
        if line is None:  # BCF: values are typed, so a missing one is missing
            return
        bad = non_numeric_value(line, self.info.keys, values)  # type: ignore[union-attr]
        if bad is not None:
            raise self._error(f"{bad[1]!r} is not a number", f"INFO/{bad[0]}")

    def _annotations(self, variant: Any, ref: str, alts: list[str]) -> list[Annotations] | None:
        plan = self.annotation_plan
        text = variant.INFO.get(plan.key)  # type: ignore[union-attr]
        if not text or not isinstance(text, str):
            return None
        return annotations(plan, text, ref, alts)  # type: ignore[arg-type]

    # -- errors -------------------------------------------------------------------------------------

    def _where(self, record_number: int, after: bool = False) -> str:
        header_lines = header_line_count(self.path)
        line = f"line {header_lines + record_number}, " if header_lines else ""
        variant = self.variant
        position = f"{variant.CHROM}:{variant.POS}" if variant is not None else "start of data"
        return f"record {record_number} ({line}{'after ' if after else ''}{position})"

    def _error(self, problem: str, field_name: str) -> VcfError:
        return VcfError(self.path, problem, where=self._where(self.record_number), field_name=field_name)

    def _parse_failure(self, error: Exception) -> VcfError:
        failed = self.record_number + 1
        header_lines = header_line_count(self.path)
        if header_lines is None:
            field_name, problem = "", f"htslib could not read the record ({error})"
        else:
            field_name, problem = diagnose_line(self.path, header_lines + failed)
        return VcfError(self.path, problem, where=self._where(failed, after=True), field_name=field_name)


def _header_infos(vcf: Any) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """INFO declarations: id -> (Number, Type), and id -> Description."""
    infos: dict[str, tuple[str, str]] = {}
    descriptions: dict[str, str] = {}
    for line in vcf.header_iter():
        info = line.info()
        if info.get("HeaderType") == "INFO" and "ID" in info:
            infos[info["ID"]] = (info.get("Number", ""), info.get("Type", ""))
            descriptions[info["ID"]] = info.get("Description", "")
    return infos, descriptions


def _readable_genotypes(vcf: Any) -> bool:
    """True when the header declares FORMAT GT as htslib reads genotypes: Type=String."""
    for line in vcf.header_iter():
        info = line.info()
        if info.get("HeaderType") == "FORMAT" and info.get("ID") == "GT":
            return info.get("Type") == "String"
    return False


def _rs_ids(ids: str | None) -> tuple[str, ...]:
    if not ids:
        return ()
    if ids[:2] == "rs" and ids[2:].isdigit():
        return (ids,)
    return tuple(token for token in ids.split(";") if token[:2] == "rs" and token[2:].isdigit())


def _alt_skip_reason(alt: str) -> str:
    if alt.startswith("<") and alt.endswith(">"):
        return f"{SKIP_SYMBOLIC} {alt}"
    if alt == "*":
        return SKIP_STAR
    if "[" in alt or "]" in alt or alt.startswith(".") or alt.endswith("."):
        return SKIP_BREAKEND
    return SKIP_BAD_BASES


def _no_carrier(frequencies: Frequencies, from_genotypes: bool) -> bool:
    """True when the Total population says no sample carries the allele."""
    if not frequencies or frequencies[0][0] != TOTAL:
        return from_genotypes  # genotypes give Total unless no genotype was called
    total = frequencies[0]
    count = total[2]
    return count == 0 if count is not None else total[1] == 0
