"""Frequencies and carriers computed from genotypes, per population of a sample panel, with numpy.

A haploid or diploid genotype is one of few states (`0/1`, `1/1`, `./.`, a hemizygous `1`, ...),
so each record is reduced to one state per sample; a bincount per partition of the samples
(everyone, populations, populations by sex, sexes) gives each population's state histogram, and its
product with a table of the counts of each state (AN, then AC/het/hom/hemi per ALT) gives every
population's totals at once. Other ploidies fall back to one state per sample.

Outside the X/Y pseudo-autosomal regions a male's homozygous call counts as one hemizygous allele
and a female's Y calls are ignored; heterozygous male calls there are kept as given (they are
caller errors or unannotated PAR calls). Hemizygous counts are reported on X and Y only:
elsewhere they are a structural zero, not an observation.
"""

from __future__ import annotations

import functools
from itertools import compress
from typing import Any, NamedTuple

import numpy as np

from beacon.genome import is_pseudoautosomal
from beacon.store.base import PopulationFrequency
from loaders.vcf_types import TOTAL, SamplePanel

Frequencies = tuple[PopulationFrequency, ...]
Carriers = tuple[tuple[str, str | None], ...]

_ZYGOSITY_LABELS = np.array([None, "heterozygous", "homozygous", "hemizygous"], dtype=object)
_SEX_CHROMOSOMES = ("X", "Y")
_SEX_TOTALS = ("F", "M")
_new_frequency = functools.partial(tuple.__new__, PopulationFrequency)


class SampleCounts(NamedTuple):
    """One record's genotypes: each sample's state, and each state's counts and zygosity."""

    states: np.ndarray  # per sample: a row of `table`
    table: np.ndarray  # per state: AN, then AC/het/hom/hemi per ALT
    zygosity: np.ndarray  # per state: 0 none or unknown, 1 het, 2 hom, 3 hemi
    sex_chromosome: bool


class GenotypeCounter:
    """Counts one file's genotypes per population (`Total` is every sample) and lists carriers."""

    def __init__(
        self,
        samples: list[str],
        panel: SamplePanel | None,
        split_by_sex: bool,
        assembly: str,
        sex_totals: bool = False,
    ) -> None:
        self.assembly = assembly
        self.samples = np.array(samples, dtype=object)
        groups = _population_groups(samples, panel, split_by_sex, sex_totals)
        names = {TOTAL, *(name for partition in groups for name in partition.values())}
        self.names = sorted(names, key=lambda name: (name != TOTAL, name not in _SEX_TOTALS, name))
        self.partitions = [_labels(samples, partition, self.names) for partition in groups]
        sexes = [panel.sexes.get(sample) if panel else None for sample in samples]
        self.males = np.array([sex == "M" for sex in sexes], dtype=bool)
        self.females = np.array([sex == "F" for sex in sexes], dtype=bool)
        self.sexes_known = bool(self.males.any() or self.females.any())
        self.tables: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def count(self, variant: Any, chromosome: str, position: int, n_alts: int) -> SampleCounts:
        """The record's genotype states, with the X/Y rules applied outside the PARs."""
        sex_chromosome = chromosome in _SEX_CHROMOSOMES
        alleles = variant.genotype.array()[:, :-1]
        if sex_chromosome and self.sexes_known and not is_pseudoautosomal(self.assembly, chromosome, position):
            alleles = self._apply_sexes(alleles, chromosome)
        ploidy = alleles.shape[1]
        # htslib codes a missing allele -1 and an absent one -2; an allele number above the ALT
        # count (a malformed record) would alias another state, so such records are counted per sample.
        if ploidy > 2 or alleles.max() > n_alts:
            table, zygosity = _sample_counts(alleles, n_alts)  # one state per sample
            return SampleCounts(np.arange(len(alleles)), table, zygosity, sex_chromosome)
        table, zygosity = self._state_table(ploidy, n_alts)
        shifted = alleles.astype(np.intp) + 2
        states = shifted[:, 0] * (n_alts + 3) + shifted[:, 1] if ploidy == 2 else shifted[:, 0]
        return SampleCounts(states, table, zygosity, sex_chromosome)

    def frequencies(self, counts: SampleCounts, n_alts: int) -> list[Frequencies]:
        """Per ALT, the frequencies of every population with at least one called allele."""
        totals = self._histogram(counts.states, len(counts.table)) @ counts.table
        called = totals[:, 0] > 0
        if not called.all():
            totals = totals[called]
        names = list(compress(self.names, called.tolist()))
        numbers = totals[:, 0]
        number_list = numbers.tolist()
        absent = [None] * len(names)
        result = []
        for alt in range(n_alts):
            block = totals[:, 1 + 4 * alt : 5 + 4 * alt]
            allele_counts, heterozygous, homozygous, hemizygous = block.T.tolist()
            frequency = (block[:, 0] / numbers).tolist()
            if not counts.sex_chromosome:
                hemizygous = absent
            rows = zip(names, frequency, allele_counts, number_list, homozygous, heterozygous, hemizygous, strict=True)
            result.append(tuple(map(_new_frequency, rows)))
        return result

    def carriers(self, counts: SampleCounts, index: int) -> Carriers:
        """(sample, zygosity label) of every sample carrying ALT number `index` (0-based)."""
        carrying = np.flatnonzero(counts.table[counts.states, 1 + 4 * index])
        labels = _ZYGOSITY_LABELS[counts.zygosity[counts.states[carrying]]]
        return tuple(zip(self.samples[carrying].tolist(), labels.tolist(), strict=True))

    def _histogram(self, states: np.ndarray, n_states: int) -> np.ndarray:
        """Populations x states: how many of each population's samples are in each state."""
        size = (len(self.names) + 1) * n_states  # the last row collects samples outside a partition
        histogram = np.bincount(states, minlength=size)  # Total is group 0 and holds every sample
        for labels in self.partitions:
            histogram += np.bincount(labels * n_states + states, minlength=size)
        return histogram.reshape(-1, n_states)[:-1]

    def _state_table(self, ploidy: int, n_alts: int) -> tuple[np.ndarray, np.ndarray]:
        key = (ploidy, n_alts)
        if key not in self.tables:
            # Every genotype of this ploidy, each allele -2 (absent) to n_alts, in state order.
            genotypes = np.indices((n_alts + 3,) * ploidy).reshape(ploidy, -1).T - 2
            self.tables[key] = _sample_counts(genotypes, n_alts)
        return self.tables[key]

    def _apply_sexes(self, alleles: np.ndarray, chromosome: str) -> np.ndarray:
        if alleles.shape[1] < 2:
            return alleles
        alleles = alleles.copy()
        if chromosome == "Y":
            alleles[self.females] = -1
        collapse = self.males & (alleles[:, 0] == alleles[:, 1])
        alleles[collapse, 1] = -2
        return alleles


def _population_groups(
    samples: list[str], panel: SamplePanel | None, split_by_sex: bool, sex_totals: bool
) -> list[dict[str, str]]:
    """Partitions of the samples beyond Total: sample -> population, sample -> population_sex and
    sample -> sex (the sex totals `F`/`M`)."""
    if panel is None:
        return []
    populations = {sample: panel.populations[sample] for sample in samples if sample in panel.populations}
    partitions = [populations]
    sexes = panel.sexes
    if split_by_sex:
        partitions.append(
            {sample: f"{name}_{sexes[sample]}" for sample, name in populations.items() if sample in sexes}
        )
    if sex_totals:
        partitions.append({sample: sexes[sample] for sample in samples if sample in sexes})
    return partitions


def _labels(samples: list[str], partition: dict[str, str], names: list[str]) -> np.ndarray:
    """Each sample's group number in `names`, or len(names) for a sample outside the partition."""
    index = {name: number for number, name in enumerate(names)}
    return np.array([index.get(partition.get(sample, ""), len(names)) for sample in samples], dtype=np.intp)


def _sample_counts(alleles: np.ndarray, n_alts: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: AN, then AC/het/hom/hemi per ALT (alleles -1 missing, -2 absent); zygosity codes."""
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
    return _count_columns(first_called.astype(np.int64) + second_called, alleles, zygosity, n_alts), zygosity


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
    return _count_columns(called.sum(axis=1), alleles, zygosity, n_alts), zygosity


def _count_columns(numbers: np.ndarray, alleles: np.ndarray, zygosity: np.ndarray, n_alts: int) -> np.ndarray:
    """Rows x (1 + 4 x ALTs): AN, then per ALT its count and its count in het, hom, hemi genotypes."""
    columns = np.empty((len(alleles), 1 + 4 * n_alts), dtype=np.int64)
    columns[:, 0] = numbers
    kinds = [zygosity == code for code in (1, 2, 3)]
    for alt in range(1, n_alts + 1):
        count = (alleles == alt).sum(axis=1)
        at = 1 + 4 * (alt - 1)
        columns[:, at] = count
        for offset, kind in enumerate(kinds, start=1):
            columns[:, at + offset] = count * kind
    return columns
