"""Which populations a VCF describes: `--populations` maps, sample panels and INFO field detection.

The formats are described in the `loaders.vcf` docstring. Nothing here reads a VCF record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loaders.vcf_types import TOTAL, PopulationFields, PopulationMap, SamplePanel, VcfError

FIELD_KINDS = (
    "allele_frequency",
    "allele_count",
    "allele_number",
    "allele_count_homozygous",
    "allele_count_heterozygous",
    "allele_count_hemizygous",
)
"""The `PopulationFields` attributes naming INFO fields, in `PopulationFrequency` order."""

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
        FIELD_KINDS,
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
PANEL_KEY = "panelPopulations"
"""The key of a map item naming the sample panel populations published under its label."""
_NOT_POPULATIONS = frozenset({"adj", "raw", "het", "hom", "hemi", "all"})
_SEXES = {"male": "M", "m": "M", "1": "M", "female": "F", "f": "F", "2": "F"}


# -- populations maps --------------------------------------------------------------------------------


def read_population_map(path: str | Path) -> PopulationMap:
    """Read a `--populations` JSON map (format in the `loaders.vcf` docstring)."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VcfError(path, f"cannot read the populations map: {error}") from None
    return parse_population_map(document, str(path))


def parse_population_map(document: Any, name: str = "populations map") -> PopulationMap:
    """Validate a parsed `--populations` JSON document."""
    if not isinstance(document, dict) or not isinstance(document.get("populations"), list):
        raise VcfError(name, 'expected an object with a "populations" array')
    items = document["populations"]
    if not items:
        raise VcfError(name, "the populations array is empty")
    expected = document.get("numberOfPopulations")
    if expected not in (None, 0) and expected != len(items):
        raise VcfError(name, f"numberOfPopulations is {expected} but {len(items)} populations are listed")
    source, reference, version = _source_texts(document, name)
    split_by_sex = document.get("splitBySex", False)
    if not isinstance(split_by_sex, bool):
        raise VcfError(name, "must be true or false", field_name="splitBySex")
    if any(isinstance(item, dict) and PANEL_KEY in item for item in items):
        labels = _panel_labels(items, name, split_by_sex)
        return PopulationMap((), source, reference, version, labels, split_by_sex)
    if split_by_sex:
        raise VcfError(
            name,
            f"applies to sample panel populations ({PANEL_KEY}); with INFO fields, list each sex as a population",
            field_name="splitBySex",
        )
    populations = tuple(_population_fields(item, name, index) for index, item in enumerate(items))
    names = [population.population for population in populations]
    if len(set(names)) != len(names):
        raise VcfError(name, "a population is listed twice")
    return PopulationMap(populations, source, reference, version)


def _source_texts(document: dict[str, Any], name: str) -> tuple[str | None, str | None, str | None]:
    """`source`, `sourceReference` and `version` (an empty string is absent): the first two together or
    neither, since the Beacon schema requires both in a `frequencyInPopulations` item; `version` needs them."""
    texts = {key: document.get(key) for key in ("source", "sourceReference", "version")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise VcfError(name, "must be a string", field_name=key)
    source, reference, version = (texts[key] or None for key in ("source", "sourceReference", "version"))
    if source and not reference:
        raise VcfError(name, "missing: a map naming a source must give its reference too", field_name="sourceReference")
    if reference and not source:
        raise VcfError(name, "missing: a map giving a sourceReference must name its source", field_name="source")
    if version and not source:
        raise VcfError(name, "a version needs the source and sourceReference it is a version of", field_name="version")
    return source, reference, version


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


def _panel_labels(items: list[Any], name: str, split_by_sex: bool) -> dict[str, str]:
    """Panel population -> label, from items `{"population": "GB", "panelPopulations": ["GBR"]}`."""
    labels: dict[str, str] = {}
    for index, item in enumerate(items):
        where = f"populations[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("population"), str) or not item["population"]:
            raise VcfError(name, f"{where} needs a non-empty string 'population'")
        if PANEL_KEY not in item or set(item) - {"population", PANEL_KEY}:
            raise VcfError(
                name, f"{where}: a map lists INFO fields or sample panel populations ({PANEL_KEY}), not both"
            )
        codes = item[PANEL_KEY]
        if not isinstance(codes, list) or not codes or not all(isinstance(code, str) and code for code in codes):
            raise VcfError(name, f"{where}.{PANEL_KEY} must be a non-empty array of panel population names")
        for code in codes:
            if code in labels:
                raise VcfError(name, f"panel population {code!r} is given two labels")
            labels[code] = item["population"]
    published = [TOTAL, *dict.fromkeys(labels.values())]
    if split_by_sex:
        published += ["F", "M", *(f"{label}_{sex}" for label in dict.fromkeys(labels.values()) for sex in "FM")]
    twice = sorted({label for label in published if published.count(label) > 1})
    if twice:
        raise VcfError(name, f"the population label(s) {', '.join(twice)} would be published twice")
    return labels


def labelled_panel(panel: SamplePanel, population_map: PopulationMap, path: str | Path) -> SamplePanel:
    """The panel with each sample's population replaced by its map label; samples of populations the
    map does not name keep only their sex (they count in `Total` and the sex totals)."""
    unknown = sorted(set(population_map.panel_labels) - set(panel.populations.values()))
    if unknown:
        problem = f"{', '.join(unknown)} named by the populations map: no sample of the sample panel has it"
        raise VcfError(path, problem, field_name=PANEL_KEY)
    if population_map.split_by_sex and not panel.sexes:
        raise VcfError(path, "the populations map's splitBySex needs the sample panel's sexes (--sex-column)")
    labels = population_map.panel_labels
    populations = {sample: labels[code] for sample, code in panel.populations.items() if code in labels}
    return SamplePanel(populations, panel.sexes)


# -- sample panels -----------------------------------------------------------------------------------


def read_sample_panel(
    path: str | Path, *, population_column: str = "pop", sex_column: str | None = None
) -> SamplePanel:
    """Read a sample panel TSV: header row, sample name first, then the named columns."""
    lines = _read_lines(path)
    if not lines:
        raise VcfError(path, "the sample panel is empty")
    header = [name.strip() for name in lines[0].rstrip("\r\n").split("\t")]
    for column in [population_column] + ([sex_column] if sex_column else []):
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


# -- detection from the header ---------------------------------------------------------------------------


def detect_population_fields(infos: Mapping[str, tuple[str, str]]) -> tuple[PopulationFields, ...]:
    """Populations whose frequencies the INFO fields hold, from header declarations id -> (Number, Type).

    The layouts recognised are listed in the `loaders.vcf` docstring; `Total` comes first, the
    others in header order. Populations without a frequency or an AC/AN pair are left out.
    """
    found: dict[str, dict[str, str]] = {}
    for key, (number, kind) in infos.items():
        match = _classify_info_field(key)
        if match is not None and _declared_as(match[1], number, kind):
            found.setdefault(match[0], {}).setdefault(match[1], key)
    ordered = sorted(found, key=lambda name: name != TOTAL)
    populations = (PopulationFields(name, **found[name]) for name in ordered)
    return tuple(population for population in populations if has_frequency(population))


def has_frequency(population: PopulationFields) -> bool:
    """True when the population names a frequency field or both an AC and an AN field."""
    return population.allele_frequency is not None or (
        population.allele_count is not None and population.allele_number is not None
    )


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
