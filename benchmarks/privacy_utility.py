"""How much a protection keeps for honest callers of `make benchmark-privacy` (benchmarks/privacy_benchmark.py):
the share of lookups of alleles with 5 or more copies answered, for a caller who asks only about such alleles and
for one who asks about any allele of the beacon."""

from __future__ import annotations

import random
from typing import Protocol

import numpy as np

from benchmarks.privacy_population import Population


class Server(Protocol):
    """The beacon asked (benchmarks.privacy_benchmark.Server)."""

    def ask_all(self, sites: list[int], seed: int, caller: str, threads: int) -> list[bool | None]:
        """One caller's answers to its questions about these sites, in order (None: refused)."""


def utility(server: Server, population: Population, seed: int, lookups: list[int], threads: int) -> dict[int, float]:
    """Share of lookups of alleles with at least 5 copies in the beacon answered `exists: true`, among the first
    n lookups of one fresh caller, for each n of `lookups` (defences that count per caller hide more the more
    one caller asks)."""
    common = [int(site) for site in np.flatnonzero(population.beacon_counts >= 5)]
    sample = random.Random(seed).sample(common, min(max(lookups), len(common)))
    answers = server.ask_all(sample, seed, "10.3.0.1", threads)
    return {n: sum(answer is True for answer in answers[:n]) / len(answers[:n]) for n in lookups}


def mixed_utility(
    server: Server, population: Population, seed: int, lookups: list[int], threads: int
) -> dict[int, float]:
    """The same share among the first n lookups of a caller who asks about any allele of the beacon (most are
    rare): asking about rare alleles spends members' budgets, and a spent member's copies no longer count
    for that caller, also in alleles with 5 copies or more."""
    present = [int(site) for site in np.flatnonzero(population.beacon_counts)]
    sample = random.Random(seed + 1).sample(present, min(max(lookups), len(present)))
    answers = server.ask_all(sample, seed, "10.3.0.2", threads)
    common = [population.beacon_counts[site] >= 5 for site in sample]
    found = {}
    for n in lookups:
        asked = [answer for answer, counted in zip(answers[:n], common[:n], strict=True) if counted]
        found[n] = sum(answer is True for answer in asked) / max(len(asked), 1)
    return found
