"""Member budgets: how many answers each member of a dataset alone decided for one caller (pure).

Under rare-allele protection an allele is shown when its allele count reaches a threshold. A member
whose copies lift an allele to the threshold *decides* that answer: without them it would be "not
found". Those answers are all the membership attack (Shringarpure & Bustamante 2015) can learn from:
every other answer is the same whether the member is in the dataset or not, so a member's score in the
attack is an outsider's score plus what the answers they decided add. Raisaro et al. (JAMIA 2017)
proposed keeping such a tally per member and per caller; here, once a member has decided `answers`
answers for a caller, that caller is answered as if the member were absent (an allele they would
lift over the threshold is not found; alleles that stay over it without them are shown as before).
A caller asking about many people's alleles spends few members' budgets; one asking about one
person's alleles spends that person's after `answers` decided answers, and learns no more about them.

The beacon needs to know who carries what (variants loaded with case-level data); a variant without
carriers is answered by rare-allele protection alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from beacon.store.base import VariantDocument

_RETRIES = 5
CANDIDATE_MARGIN = 10
"""Alleles with at least this many copies over their threshold are screened without reading their carriers'
counts: members absent for a caller only hide such an allele when they hold that many copies of it between
them, which means spending the budgets of several of its carriers first."""


@dataclass(frozen=True)
class MemberBudget:
    """How many answers one member may decide for one caller in `window` seconds (from the first); with
    `everyone`, for all callers together (a caller with many addresses or accounts gets no more)."""

    answers: int
    window: float
    everyone: bool = False


class MemberLedger(Protocol):
    """The answers each member of one dataset decided for one caller (kept by the server, shared by workers)."""

    def counts(self, biosamples: Collection[str]) -> dict[str, int]:
        """How many answers each of these members has decided for this caller (those with none are left out)."""

    def charge(self, decided: Mapping[str, int], seen: Mapping[str, int]) -> frozenset[str]:
        """Add `decided` to the counts if each is still what `seen` says (absent: 0), all in one step; else add
        nothing and return the members whose count another request changed meanwhile."""


def copies(zygosity: str | None) -> int:
    """Copies of the allele a carrier has (homozygous 2, otherwise 1)."""
    return 2 if zygosity == "homozygous" else 1


@dataclass(frozen=True)
class Screened:
    """What one caller is shown of some variants, and how many of them each member decided."""

    shown: list[VariantDocument]
    decided: dict[str, int]


AlleleCount = Callable[[VariantDocument], int | None]
Threshold = Callable[[VariantDocument], int]


def candidates(documents: Iterable[VariantDocument], allele_count: AlleleCount, threshold: Threshold) -> set[str]:
    """The carriers whose counts matter for these variants: those of alleles within CANDIDATE_MARGIN copies of
    their threshold (further over it, an allele stays shown unless more than that many copies are absent)."""
    found: set[str] = set()
    for document in documents:
        count = allele_count(document)
        if count is not None and count < max(threshold(document), 1) + CANDIDATE_MARGIN:
            found.update(biosample for biosample, _ in document.carriers)
    return found


def screen(
    documents: Iterable[VariantDocument],
    allele_count: AlleleCount,
    threshold: Threshold,
    counts: Mapping[str, int],
    budget: int,
) -> Screened:
    """The variants shown when members who have decided `budget` answers (`counts`, then the ones shown here,
    in order) count as absent, and how many shown variants each member decided."""
    used = dict(counts)
    shown: list[VariantDocument] = []
    decided: dict[str, int] = {}
    for document in documents:
        count = allele_count(document)
        if count is None:
            continue  # a count that cannot be told counts as rare (privacy.is_rare)
        present = [(b, copies(z)) for b, z in document.carriers if used.get(b, 0) < budget]
        count -= sum(copies(z) for b, z in document.carriers if used.get(b, 0) >= budget)
        limit = max(threshold(document), 1)
        if count < limit:
            continue
        shown.append(document)
        for biosample, carried in present:
            if count - carried < limit:
                used[biosample] = used.get(biosample, 0) + 1
                decided[biosample] = decided.get(biosample, 0) + 1
    return Screened(shown, decided)


def screen_and_charge(
    documents: list[VariantDocument],
    allele_count: AlleleCount,
    threshold: Threshold,
    ledger: MemberLedger,
    budget: int,
) -> tuple[list[VariantDocument], frozenset[str]]:
    """The variants shown to the ledger's caller, with the answers they decide counted; and the members counted
    as absent. Concurrent requests of one caller cannot both spend the last of a member's budget: a charge
    whose counts changed meanwhile is screened again with the new counts."""
    seen = ledger.counts(candidates(documents, allele_count, threshold))
    for _ in range(_RETRIES):
        screened = screen(documents, allele_count, threshold, seen, budget)
        changed = ledger.charge(screened.decided, seen) if screened.decided else frozenset()
        if not changed:
            return screened.shown, frozenset(b for b, used in seen.items() if used >= budget)
        seen = {**seen, **dict.fromkeys(changed, 0), **ledger.counts(changed)}
    # Still racing: answer as if every member who could decide one of them were absent (nothing is counted).
    everyone = dict.fromkeys(candidates(documents, allele_count, threshold), budget)
    return screen(documents, allele_count, threshold, everyone, budget).shown, frozenset(everyone)
