"""The API's g_variants JSON -> what the lookup page shows: yes / no / cannot tell per dataset, the variants
and their frequencies per population and sex (pure: no Flask)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from beacon import genome, structural
from beacon.web import populations

YES, NO, CANNOT_TELL = "yes", "no", "cannot tell"
_CANNOT_TELL_WHY = {
    "noAnnotations": "its variants carry no gene or protein annotations",
    "noVariantIds": "its variants carry no rsIDs",
    "noCaseLevelData": "it holds no case-level data",
    "noVariants": "it holds no variants",
    "tooBroad": "the question matches too many variants to look up",
}
"""Why a dataset cannot tell, by the API's `info.cannotTell` code (README: datasets that cannot tell)."""


@dataclass(frozen=True)
class Frequency:
    """One population's (or sex's) counts of one allele."""

    code: str
    label: str
    population: str
    population_code: str
    sex: str | None
    allele_count: int | None
    allele_number: int | None
    allele_frequency: float
    homozygous: int | None

    @property
    def percent(self) -> str:
        """The frequency as people read it: a percentage with three significant digits."""
        return format_percent(self.allele_frequency)


@dataclass(frozen=True)
class VariantView:
    """One variant of an answer: identifiers, type, annotations and frequencies."""

    variant_id: str
    hgvs: str
    rsids: tuple[str, ...]
    variant_type: str
    position: str
    genes: tuple[str, ...]
    consequences: tuple[str, ...]
    protein_changes: tuple[str, ...]
    frequencies: tuple[Frequency, ...]
    frequency_source: str = ""


@dataclass(frozen=True)
class DatasetAnswer:
    """One dataset's answer to one search as the caller may see it."""

    dataset_id: str
    name: str
    verdict: str
    granularity: str
    count: int | None = None
    reason: str = ""
    variants: tuple[VariantView, ...] = field(default=())


def dataset_answers(document: Mapping[str, Any], names: Mapping[str, str]) -> list[DatasetAnswer]:
    """One answer per result set of a g_variants response; `names` maps dataset ids to their names."""
    returned = str(document.get("meta", {}).get("returnedGranularity", "boolean"))
    result_sets = document.get("response", {}).get("resultSets", [])
    return [_dataset_answer(result_set, names, returned) for result_set in result_sets]


def _dataset_answer(result_set: Mapping[str, Any], names: Mapping[str, str], returned: str) -> DatasetAnswer:
    dataset_id = str(result_set.get("id", ""))
    info = result_set.get("info") or {}
    granularity = str(info.get("returnedGranularity", returned))
    verdict = YES if result_set.get("exists") else NO
    reason = ""
    if info.get("cannotTell") or (info.get("error") and not result_set.get("exists")):
        verdict, reason = CANNOT_TELL, _why(info)
    return DatasetAnswer(
        dataset_id=dataset_id,
        name=names.get(dataset_id, dataset_id),
        verdict=verdict,
        granularity=granularity,
        count=result_set.get("resultsCount"),
        reason=reason,
        variants=tuple(variant_view(record) for record in result_set.get("results", [])),
    )


def _why(info: Mapping[str, Any]) -> str:
    code = str(info.get("cannotTell", ""))
    error = info.get("error")
    message = error.get("errorMessage", "") if isinstance(error, Mapping) else str(error or "")
    return _CANNOT_TELL_WHY.get(code) or message or code


def cannot_tell(dataset_ids: Iterable[str], names: Mapping[str, str], reason: str) -> list[DatasetAnswer]:
    """`cannot tell` for each dataset, with the reason (e.g. no gene annotations are loaded)."""
    return [DatasetAnswer(i, names.get(i, i), CANNOT_TELL, "boolean", reason=reason) for i in dataset_ids]


def variant_view(record: Mapping[str, Any]) -> VariantView:
    """The page's view of one genomicVariation record."""
    variation = record.get("variation", {})
    identifiers = record.get("identifiers", {})
    attributes = record.get("molecularAttributes", {})
    rsids = tuple(
        str(item.get("id", "")).removeprefix("dbSNP:")
        for item in identifiers.get("variantAlternativeIds", [])
        if str(item.get("id", "")).startswith(("dbSNP:", "rs"))
    )
    sources = record.get("frequencyInPopulations", [])
    variant_id = str(record.get("variantInternalId", record.get("id", "")))
    return VariantView(
        variant_id=variant_id,
        # Structural and copy-number variants have no HGVS id: their span names them instead.
        hgvs=str(identifiers.get("genomicHGVSId", "")) or _span_name(variation) or variant_id,
        rsids=rsids,
        variant_type=str(variation.get("variantType", "")) or _copy_change_label(variation),
        position=_position(variation),
        genes=tuple(str(gene) for gene in attributes.get("geneIds", [])),
        consequences=tuple(_labels(attributes.get("molecularEffects", []))),
        protein_changes=tuple(str(change) for change in attributes.get("aminoacidChanges", [])),
        frequencies=tuple(frequencies(sources)),
        frequency_source=", ".join(str(source.get("source", "")) for source in sources),
    )


COPY_CHANGE_LABELS = {
    structural.COMPLETE_LOSS: "complete genomic deletion",
    structural.LOW_LEVEL_LOSS: "low-level copy number loss",
    structural.LOSS: "copy number loss",
    structural.GAIN: "copy number gain",
    structural.LOW_LEVEL_GAIN: "low-level copy number gain",
    structural.HIGH_LEVEL_GAIN: "high-level copy number gain",
}
"""EFO's labels of the copy-number classes a VRS CopyNumberChange names (`copy_change`)."""


def _place(variation: Mapping[str, Any]) -> tuple[str, str | None, int | None, int | None]:
    """(chromosome, assembly, start, end) of a variation; the accession and None when it names no known contig."""
    # A VRS CopyNumberChange places itself by `subject`; alleles and legacy variations by `location`.
    location = variation.get("location") or variation.get("subject") or {}
    interval = location.get("interval", {})
    start, end = interval.get("start", {}).get("value"), interval.get("end", {}).get("value")
    accession = str(location.get("sequence_id", "")).removeprefix("refseq:")
    try:
        assembly, chromosome = genome.locate_accession(accession)
    except ValueError:
        return accession, None, start, end
    return chromosome, assembly, start, end


def _copy_change_label(variation: Mapping[str, Any]) -> str:
    change = str(variation.get("copy_change", ""))
    return COPY_CHANGE_LABELS.get(change.upper(), change)


def _span_name(variation: Mapping[str, Any]) -> str:
    """`chr:start-end` (1-based, both ends included) of a variant spanning more than its first base."""
    chromosome, _assembly, start, end = _place(variation)
    if not isinstance(start, int) or not isinstance(end, int):
        return ""
    return f"{chromosome}:{start + 1:,}-{end:,}"


def _position(variation: Mapping[str, Any]) -> str:
    chromosome, assembly, start, _end = _place(variation)
    if start is None:
        return ""
    if assembly is None:
        return f"{chromosome}, position {int(start) + 1:,} (1-based)"
    return f"chromosome {chromosome} ({assembly}), position {int(start) + 1:,} (1-based)"


def _labels(effects: Iterable[Any]) -> Iterable[str]:
    for effect in effects:
        yield str(effect.get("label") or effect.get("id")) if isinstance(effect, Mapping) else str(effect)


def frequencies(sources: Iterable[Mapping[str, Any]]) -> list[Frequency]:
    """Every population's frequency of every source, in the order: everyone, sexes, then populations."""
    rows = []
    for source in sources:
        for item in source.get("frequencies", []):
            code = str(item.get("population", ""))
            population, sex = populations.split(code)
            rows.append(
                Frequency(
                    code=code,
                    label=populations.label(code),
                    population=populations.population_name(population),
                    population_code=population,
                    sex=sex,
                    allele_count=item.get("alleleCount"),
                    allele_number=item.get("alleleNumber"),
                    allele_frequency=float(item.get("alleleFrequency", 0.0)),
                    homozygous=item.get("alleleCountHomozygous"),
                )
            )
    return sorted(rows, key=_order)


def _order(row: Frequency) -> tuple[int, str, int]:
    total = row.population in ("Everyone", "Female", "Male") or row.code in ("Total", "F", "M")
    return (0 if total else 1, "" if total else row.population, {None: 0, "female": 1, "male": 2}[row.sex])


def format_percent(value: float) -> str:
    """A frequency (0..1) as a percentage people read: `0.624 %`, `12.5 %`, `0 %`."""
    if value <= 0:
        return "0 %"
    percent = value * 100
    digits = max(0, 2 - int(f"{percent:e}".split("e")[1]))
    return f"{percent:,.{digits}f} %"
