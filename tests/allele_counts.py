"""Allele counts per group of samples, counted here from the VCF genotypes with cyvcf2 and from the panel
with csv: an oracle for the loader's frequencies that shares none of its code.

Autosomal diploid rules only (what bcftools +fill-tags counts): AN = called alleles, AC = ALT alleles,
AC_Het = ALT alleles in called heterozygous genotypes, AC_Hom = ALT alleles in homozygous ALT genotypes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import cyvcf2
import numpy as np

SEXES = {"male": "M", "female": "F"}


def info_ends(path: Path) -> dict[int, int]:
    """POS -> INFO END of the records of a bgzipped VCF that have one, read from the raw text."""
    import gzip
    import re

    ends = {}
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                columns = line.split("\t", 8)
                if match := re.search(r"(?:^|;)END=(\d+)", columns[7]):
                    ends[int(columns[1])] = int(match[1])
    return ends


class Counts(NamedTuple):
    """One group's counts for one ALT allele."""

    allele_count: int
    allele_number: int
    homozygous: int
    heterozygous: int

    def __add__(self, other: object) -> Counts:  # type: ignore[override]
        assert isinstance(other, Counts)
        return Counts(*(a + b for a, b in zip(self, other, strict=True)))


Key = tuple[int, str, str]  # POS, REF, ALT


def read_panel(path: Path) -> dict[str, tuple[str, str | None]]:
    """Sample -> (pop, sex `M`/`F` or None) from a 1000 Genomes panel (columns sample, pop, ..., gender)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {row["sample"]: (row["pop"], SEXES.get((row["gender"] or "").strip())) for row in rows}


def count_groups(vcf: Path, groups: Mapping[str, Iterable[str]], limit: int | None = None) -> dict[Key, dict]:
    """Per biallelic record (up to `limit` records): each group's `Counts` of its ALT allele."""
    reader = cyvcf2.VCF(str(vcf))
    index = {sample: number for number, sample in enumerate(reader.samples)}
    members = {name: np.array(sorted(index[s] for s in samples if s in index)) for name, samples in groups.items()}
    found: dict[Key, dict[str, Counts]] = {}
    for number, variant in enumerate(reader):
        if limit is not None and number >= limit:
            break
        if len(variant.ALT) != 1 or variant.ALT[0].startswith("<"):  # sequence alleles: SVs are tested apart
            continue
        alleles = np.array([genotype[:2] for genotype in variant.genotypes])  # -1 = missing
        found[(variant.POS, variant.REF, variant.ALT[0])] = {
            name: _counts(alleles[rows]) for name, rows in members.items()
        }
    reader.close()
    return found


def _counts(alleles: np.ndarray) -> Counts:
    first, second = alleles[:, 0], alleles[:, 1]
    called = (first >= 0) & (second >= 0)
    alt = (alleles == 1).sum(axis=1)
    heterozygous = called & (first != second)
    homozygous = called & (first == 1) & (second == 1)
    return Counts(int(alt.sum()), int((alleles >= 0).sum()), int(alt[homozygous].sum()), int(alt[heterozygous].sum()))


def symbolic_carried(vcf: Path, chromosome: str, start: int, end: int) -> dict[Key, int]:
    """Symbolic single-ALT alleles (`<CN0>`...) some sample carries that overlap the 0-based half-open window,
    with the end of their span: INFO END (the VCF's own statement), not the one-base REF."""
    reader = cyvcf2.VCF(str(vcf))
    found = {}
    for variant in reader(f"{chromosome}:{start + 1}-{end}"):
        if len(variant.ALT) != 1 or not variant.ALT[0].startswith("<"):
            continue
        span_end = int(variant.INFO.get("END") or variant.POS - 1 + len(variant.REF))
        carried = any(1 in genotype[:2] for genotype in variant.genotypes)
        if end > variant.POS - 1 and span_end > start and carried:
            found[(variant.POS, variant.REF, variant.ALT[0])] = span_end
    reader.close()
    return found
