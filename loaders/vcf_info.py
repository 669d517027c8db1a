"""Frequencies read from INFO fields: a plan made once per file, then applied to every record.

The plan lists the INFO keys to fetch and, per population, where each of its values sits in the
fetched list. The frequency is AC/AN whenever both counts are known, so a rounded AF is not even
read. This runs for every record of a national VCF, so it avoids per-value function calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any

from beacon.store.base import PopulationFrequency
from loaders.vcf_populations import FIELD_KINDS, has_frequency
from loaders.vcf_types import PopulationFields, VcfError

Frequencies = tuple[PopulationFrequency, ...]
# (population, then the index in the fetched values of its AF, AC, AN, hom, het, hemi; -1 = absent)
_Row = tuple[str, int, int, int, int, int, int]
_ABSENT = -1  # the fetched values get a trailing None, so index -1 reads as "absent"
_ABSENT_VALUE = (None,)


class InfoFrequencies:
    """Per-population frequencies from the INFO fields of each record of one file."""

    def __init__(
        self,
        path: Path,
        populations: Iterable[PopulationFields],
        infos: Mapping[str, tuple[str, str]],
        check_missing: Callable[[tuple[Any, ...]], None],
    ) -> None:
        self.keys, self._rows = _plan(path, populations, infos)
        self._fetch_keys = [key.encode() for key in self.keys]  # bytes keys: several times faster than str
        self._fetch = _fetcher(self._fetch_keys)
        self._modes = _modes(self.keys, self._rows, infos)
        self._check_missing = check_missing
        counted = all(row[1] == _ABSENT and row[4:] == (_ABSENT,) * 3 for row in self._rows)
        # The usual layout (AC and AN per population, nothing else) gets a loop of its own.
        self._counted = tuple((row[0], row[2], row[3]) for row in self._rows) if counted else None

    def read(self, variant: Any, n_alts: int) -> list[Frequencies] | None:
        """Frequencies per ALT; None when a Number=A field has the wrong number of values."""
        info = variant.INFO
        try:
            values = self._fetch(info)
        except KeyError:  # a field absent from this record
            values = tuple([info.get(key) for key in self._fetch_keys])
        if n_alts == 1 and _plain_numbers(values):
            if self._counted is not None:
                return [_counted_populations(self._counted, values)]
            return [self._populations(values + _ABSENT_VALUE)]
        return self._read_incomplete(values, n_alts)

    def _read_incomplete(self, values: tuple[Any, ...], n_alts: int) -> list[Frequencies] | None:
        """`read` for records with several ALTs or missing values."""
        if any(value is None or (type(value) is tuple and None in value) for value in values):
            self._check_missing(values)
        if not self._counts_match(values, n_alts):
            return None
        if n_alts == 1:
            return [self._populations(values + _ABSENT_VALUE)]
        return [self._populations(self._allele_values(values, index)) for index in range(n_alts)]

    def _populations(self, values: tuple[Any, ...]) -> Frequencies:
        result = []
        new = tuple.__new__
        for name, frequency_at, count_at, number_at, hom_at, het_at, hemi_at in self._rows:
            count = values[count_at]
            number = values[number_at]
            if frequency_at == _ABSENT:
                if not number or count is None:
                    continue
                frequency = count / number
            else:
                frequency = values[frequency_at]
                if frequency is None:
                    continue
            row = (name, frequency, count, number, values[hom_at], values[het_at], values[hemi_at])
            result.append(new(PopulationFrequency, row))
        return tuple(result)

    def _allele_values(self, values: tuple[Any, ...], index: int) -> tuple[Any, ...]:
        picked = [
            value[index] if mode == "A" and value is not None else None if mode == "single" else value
            for value, mode in zip(values, self._modes, strict=True)
        ]
        picked.append(None)
        return tuple(picked)

    def _counts_match(self, values: tuple[Any, ...], n_alts: int) -> bool:
        # Splitting multi-allelic records without fixing Number=A fields (as the ExAC excerpt
        # shows) leaves values that cannot be assigned to an allele: such records are skipped.
        for value, mode in zip(values, self._modes, strict=True):
            found = len(value) if type(value) is tuple else 1
            if value is not None and found != (n_alts if mode == "A" else 1):
                return False
        return True


def _fetcher(keys: list[bytes]) -> Callable[[Any], tuple[Any, ...]]:
    """A function of a record's INFO returning the values of `keys` as a tuple, in one C call."""
    if len(keys) > 1:
        return itemgetter(*keys)
    (key,) = keys

    def fetch_one(info: Any) -> tuple[Any, ...]:  # a one-key itemgetter would return the bare value
        return (info[key],)

    return fetch_one


def _plain_numbers(values: tuple[Any, ...]) -> bool:
    """True when every value is one number: no missing value (None) and no list of values (tuple)."""
    # sum() checks that in one C loop, about five times faster than testing for None and tuple.
    try:
        sum(values)
    except TypeError:
        return False
    return True


def _counted_populations(counted: tuple[tuple[str, int, int], ...], values: tuple[Any, ...]) -> Frequencies:
    new = tuple.__new__
    return tuple([
        new(PopulationFrequency, (name, values[count_at] / values[number_at], values[count_at], values[number_at],
                                  None, None, None))
        for name, count_at, number_at in counted
        if values[number_at] and values[count_at] is not None
    ])  # fmt: skip


def _plan(
    path: Path, populations: Iterable[PopulationFields], infos: Mapping[str, tuple[str, str]]
) -> tuple[tuple[str, ...], tuple[_Row, ...]]:
    """The INFO keys to fetch, and each population's row of indexes into them."""
    keys: list[str] = []
    rows = []
    for population in populations:
        if not has_frequency(population):
            raise VcfError(
                path, f"population {population.population!r} needs alleleFrequency or alleleCount and alleleNumber"
            )
        indexes = []
        for kind in FIELD_KINDS:
            key = getattr(population, kind)
            if key is not None:
                _check_declared(path, key, kind, infos)
            if kind == "allele_frequency" and population.allele_count and population.allele_number:
                key = None
            if key is not None and key not in keys:
                keys.append(key)
            indexes.append(keys.index(key) if key is not None else _ABSENT)
        rows.append((population.population, *indexes))
    return tuple(keys), tuple(rows)  # type: ignore[arg-type]


def _check_declared(path: Path, key: str, kind: str, infos: Mapping[str, tuple[str, str]]) -> None:
    if key not in infos:
        raise VcfError(path, "the populations map names a field the header does not declare", field_name=key)
    number, value_type = infos[key]
    wanted = "Float" if kind == "allele_frequency" else "Integer"
    if value_type != wanted and not (wanted == "Float" and value_type == "Integer"):
        raise VcfError(path, f"declared Type={value_type}, expected {wanted}", field_name=key)
    if number not in ("A", "1"):
        raise VcfError(path, f"declared Number={number}, expected A (or 1)", field_name=key)


def _modes(keys: tuple[str, ...], rows: tuple[_Row, ...], infos: Mapping[str, tuple[str, str]]) -> tuple[str, ...]:
    """Per key: `A` (one value per ALT), `shared` (one for all ALTs) or `single` (Number=1, single-ALT only)."""
    numbers = {keys[row[3]] for row in rows if row[3] != _ABSENT}  # an AN describes every ALT
    modes = []
    for key in keys:
        declared = infos[key][0]
        modes.append("A" if declared == "A" else "shared" if key in numbers or declared != "1" else "single")
    return tuple(modes)
