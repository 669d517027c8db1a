"""The attack of `make benchmark-privacy` on many more targets, answered in process by the beacon's own screening.

Over HTTP, 100 members and 100 outsiders take an hour per protection, and the power measured on them has a
95 % interval about 0.15 wide: too wide to tell 0.05 from 0.15. Here each answer comes from the function the
server's searches call (`beacon.query.member_budget.screen_and_charge`), on the variant as the server reads
it (its first `beacon.query.privacy.carriers_needed` carriers, in the VCF's sample order), with each caller's
member counts in memory instead of the limits store. It covers rare-allele protection with a member budget per
caller and one threshold for every allele (no jitter; a query budget that the attack stays within is not
modelled); privacy_benchmark checks its answers against the live server's for every target both attacked.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from beacon.query.member_budget import MemberBudget, screen_and_charge
from beacon.query.privacy import Protections, carriers_needed
from beacon.store.variant_types import VariantDocument
from benchmarks.privacy_population import Population


@dataclass
class MemoryLedger:
    """One caller's member counts (beacon.query.member_budget.MemberLedger), in memory: one process, no races."""

    used: dict[str, int] = field(default_factory=dict)

    def counts(self, biosamples: Collection[str]) -> dict[str, int]:
        """How many answers each of these members has decided (those with none are left out)."""
        return {biosample: self.used[biosample] for biosample in biosamples if biosample in self.used}

    def charge(self, decided: Mapping[str, int], seen: Mapping[str, int]) -> frozenset[str]:
        """Add `decided` unless a count is no longer what `seen` says (never here: one caller at a time)."""
        changed = frozenset(b for b in decided if self.used.get(b, 0) != seen.get(b, 0))
        if not changed:
            for biosample, count in decided.items():
                self.used[biosample] = self.used.get(biosample, 0) + count
        return changed


class InProcessBeacon:
    """The beacon's answers to anonymous callers under `min_allele_count: threshold` and a member budget of
    `answers` per caller, for a simulated population."""

    def __init__(self, population: Population, threshold: int, answers: int) -> None:
        self.counts = population.beacon_counts
        self.columns = np.ascontiguousarray(population.genotypes.T)
        self.names = [f"M{index:05d}" for index in range(population.size)]  # the VCF's samples (write_vcf)
        self.threshold = threshold
        self.answers = answers
        budget = MemberBudget(answers, window=float("inf"))
        self.carriers_read = carriers_needed(Protections(threshold, member_budget=budget))
        self.documents: dict[int, VariantDocument] = {}

    def document(self, site: int) -> VariantDocument:
        """The site's variant as a search reads it: its first carriers, as many as the protection needs."""
        if site not in self.documents:
            column = self.columns[site]
            carriers = tuple(
                (self.names[i], "homozygous" if column[i] == 2 else "heterozygous")
                for i in np.flatnonzero(column)[: self.carriers_read]
            )
            self.documents[site] = VariantDocument(
                str(site), "GRCh37", "22", site, site + 1, "A", "C", site, "A", "C", "SNP", 1, carriers=carriers
            )
        return self.documents[site]

    def ask_all(self, sites: list[int]) -> list[bool]:
        """One fresh caller's answers to its questions about these sites, in order."""
        ledger = MemoryLedger()
        answers = []
        for site in sites:
            shown, _ = screen_and_charge([self.document(site)], self.allele_count, self.limit, ledger, self.answers)
            answers.append(bool(shown))
        return answers

    def allele_count(self, document: VariantDocument) -> int:
        """The variant's total allele count (its INFO AC in the store)."""
        return int(self.counts[int(document.variant_id)])

    def limit(self, _: VariantDocument) -> int:
        """Every variant's threshold (no jitter)."""
        return self.threshold
