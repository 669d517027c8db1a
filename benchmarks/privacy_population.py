"""The simulated people of `make benchmark-privacy`: genotypes drawn from the demo's allele frequencies, the
beacon's VCF of its members and the store loaded from it (see benchmarks/privacy_benchmark.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import cyvcf2
import numpy as np

DEMO_VCF = Path(__file__).resolve().parents[1] / "beacon" / "demo" / "cineca_uk1_chr22.vcf.gz"
FIRST_POSITION = 16_000_000
BASES = "ACGT"
DATASET = "privacy-benchmark"

GROUPS = ("members", "outsiders")


@dataclass(frozen=True)
class Population:
    """Simulated sites and people: members' genotypes, panel frequencies and the targets' genotypes."""

    frequencies: np.ndarray  # true frequency per site
    genotypes: np.ndarray  # copies (members x sites) of every member of the beacon
    panel_frequencies: np.ndarray
    members: np.ndarray  # genotypes (targets x sites) of member targets
    outsiders: np.ndarray

    @property
    def size(self) -> int:
        """Members in the beacon."""
        return len(self.genotypes)

    def first(self, targets: int) -> Population:
        """The same beacon and panel with only the first `targets` members and outsiders as targets."""
        return replace(self, members=self.members[:targets], outsiders=self.outsiders[:targets])

    @property
    def beacon_counts(self) -> np.ndarray:
        """Copies among the members, per site."""
        return self.genotypes.sum(axis=0, dtype=np.int64)


def demo_frequencies() -> np.ndarray:
    """Alternate allele frequencies of the demo genotypes (alleles seen at least once)."""
    found = []
    for record in cyvcf2.VCF(str(DEMO_VCF)):
        genotypes = record.genotype.array()[:, :2]
        called = int((genotypes >= 0).sum())
        for index in range(1, len(record.ALT) + 1):
            copies = int((genotypes == index).sum())
            if copies and called:
                found.append(copies / called)
    return np.array(found)


def simulate(sites: int, members: int, panel: int, targets: int, seed: int) -> Population:
    """Genotypes drawn under Hardy-Weinberg from demo frequencies (see the module docstring)."""
    rng = np.random.default_rng(seed)
    frequencies = rng.choice(demo_frequencies(), size=sites, replace=True)
    genotypes = np.array([rng.binomial(2, frequencies) for _ in range(members)], dtype=np.int8)
    panel_counts = sum((rng.binomial(2, frequencies) for _ in range(panel)), np.zeros(sites, dtype=np.int64))
    outsiders = np.array([rng.binomial(2, frequencies) for _ in range(targets)])
    return Population(frequencies, genotypes, panel_counts / (2 * panel), genotypes[:targets], outsiders)


def site_query(site: int, seed: int) -> tuple[dict[str, str | int], str, str]:
    """The g_variants query of a simulated site's alternate allele (bases chosen per site, reproducibly)."""
    ref = BASES[(site * 7 + seed) % 4]
    alt = BASES[(BASES.index(ref) + 1 + site % 3) % 4]
    return {"referenceName": "22", "assemblyId": "GRCh37", "start": FIRST_POSITION + 3 * site - 1}, ref, alt


def write_vcf(path: Path, population: Population, seed: int) -> None:
    """The beacon's data: one record per site the members carry, with INFO AC and AN and every member's
    genotype (so the store knows who carries what: member budgets need it)."""
    number = 2 * population.size
    calls = np.array(["0/0", "0/1", "1/1"])
    counts = population.beacon_counts
    with path.open("w", encoding="utf-8") as vcf:
        vcf.write("##fileformat=VCFv4.2\n##contig=<ID=22,length=51304566>\n")
        vcf.write('##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">\n')
        vcf.write('##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">\n')
        vcf.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        names = "\t".join(f"M{index:05d}" for index in range(population.size))
        vcf.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{names}\n")
        for site in np.flatnonzero(counts):
            query, ref, alt = site_query(int(site), seed)
            position = int(query["start"]) + 1
            row = "\t".join(calls[population.genotypes[:, site]])
            vcf.write(f"22\t{position}\t.\t{ref}\t{alt}\t.\tPASS\tAC={counts[site]};AN={number}\tGT\t{row}\n")


def build_store(directory: Path, population: Population, seed: int) -> Path:
    """A fresh SQLite store holding the members' allele counts as one dataset."""
    store = directory / "beacon.sqlite"
    vcf = directory / "beacon.vcf"
    write_vcf(vcf, population, seed)
    metadata = directory / "datasets.json"
    metadata.write_text(f'[{{"id": "{DATASET}", "name": "Privacy benchmark"}}]', encoding="utf-8")
    beacon = str(Path(sys.executable).with_name("beacon"))
    uri = f"sqlite:///{store}"
    for command in (
        [beacon, "load", "metadata", str(metadata), "--store", uri],
        [beacon, "load", "vcf", str(vcf), "--dataset", DATASET, "--assembly", "GRCh37", "--case-level", "--store", uri],
    ):
        subprocess.run(command, check=True, capture_output=True)
    return store
