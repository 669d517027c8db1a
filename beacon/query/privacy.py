"""Re-identification defences applied to answers (pure: no Flask, no database).

- **Rare-allele protection**: for the caller tiers a dataset's policy names, a variant whose total
  allele count (`Total` population: `alleleCount`, else frequency x allele number, else its carriers)
  is below `min_allele_count` is answered as not found, everywhere a variant can be seen (g_variants
  queries, `/g_variants/{id}`, its carriers, variant queries on individuals and biosamples). A variant
  whose count cannot be told is treated as rare. In the records of the variants still shown, a
  population whose allele count is from 1 to `min_allele_count - 1` is left out of the frequencies.
  With a **member budget** (beacon.query.member_budget), members who have decided as many answers for
  this caller as the budget allows count as absent: an allele they lift to the threshold is not found.
- **Noisy counts**: a dataset's counts shown to callers who may not see its records are the true
  count plus Laplace noise of scale 1/epsilon, rounded, never below 0; `exists` follows the noisy
  count (so boolean answers are randomised too). The noise is a function of a secret, the dataset
  and the question, so asking again gives the same answer and averaging repeats learns nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import Any

from beacon.query.member_budget import CANDIDATE_MARGIN, MemberBudget, MemberLedger, screen_and_charge
from beacon.store.base import PopulationFrequency, Store, VariantDocument, VariantQuery

TOTAL_POPULATION = "Total"
MAX_PROTECTED_VARIANTS = 200_000
"""Most variants one protected query reads to leave out the rare ones (a wider query is cut there)."""


@dataclass(frozen=True)
class Protections:
    """The defences that apply to one caller for one dataset."""

    min_allele_count: int | None = None
    """Variants with a total allele count below this are not shown (None: no rare-allele protection)."""
    threshold_jitter: int = 0
    """Each variant's threshold is min_allele_count plus 0 to this, fixed per variant by a keyed hash."""
    secret: bytes = b""
    """The key of the jitter (and of noisy counts)."""
    noise_epsilon: float | None = None
    """Laplace noise of scale 1/epsilon on counts (None: exact counts)."""
    member_budget: MemberBudget | None = None
    """How many answers one member may decide for this caller (with rare-allele protection only)."""
    ledger: MemberLedger | None = None
    """Where the answers members decided for this caller are counted (bound per request with `member_budget`)."""


NO_PROTECTIONS = Protections()


def allele_count(document: VariantDocument) -> int | None:
    """The variant's total allele count in the dataset; None when it cannot be told."""
    for frequency in document.frequencies:
        if frequency.population == TOTAL_POPULATION:
            found = _population_count(frequency)
            if found is not None:
                return found
    if document.carriers:
        return sum(2 if zygosity == "homozygous" else 1 for _, zygosity in document.carriers)
    return None


def _population_count(frequency: PopulationFrequency) -> int | None:
    if frequency.allele_count is not None:
        return frequency.allele_count
    if frequency.allele_number is not None:
        return round(frequency.allele_frequency * frequency.allele_number)
    return None


def variant_threshold(document: VariantDocument, protections: Protections) -> int:
    """The allele count below which this variant is hidden: the minimum plus its keyed jitter.

    A fixed threshold lets a member's own copies lift an allele over it, which the membership attack
    reads; a threshold that differs per variant in a way callers cannot know blurs that step.
    """
    base = protections.min_allele_count or 0
    if not protections.threshold_jitter:
        return base
    digest = hmac.new(protections.secret, document.variant_id.encode(), hashlib.sha256).digest()
    return base + int.from_bytes(digest[:4], "big") % (protections.threshold_jitter + 1)


def carriers_needed(protections: Protections) -> int:
    """How many of a variant's carriers the protections need read (0: none).

    Rare-allele protection falls back on the carriers for an allele count: with `k` read (each counting at
    least 1) a variant carried by more counts at least `k`, so `k` = the highest threshold decides rarity as
    all of them would. Member budgets screen alleles within CANDIDATE_MARGIN copies of their threshold,
    which have fewer carriers than that, so those are read whole.
    """
    if protections.min_allele_count is None:
        return 0
    needed = protections.min_allele_count + protections.threshold_jitter
    return needed + CANDIDATE_MARGIN if protections.member_budget is not None else needed


def is_rare(document: VariantDocument, protections: Protections) -> bool:
    """Whether rare-allele protection hides the variant (an unknown count counts as rare)."""
    count = allele_count(document)
    return count is None or count < variant_threshold(document, protections)


def withhold_rare_frequencies(document: VariantDocument, min_allele_count: int) -> VariantDocument:
    """The document without the populations in which the allele is rare (allele count 1 to min - 1)."""
    kept = tuple(
        frequency
        for frequency in document.frequencies
        if not 0 < (_population_count(frequency) or min_allele_count) < min_allele_count
    )
    if len(kept) == len(document.frequencies):
        return document
    return replace(document, frequencies=kept)


def common_variants(store: Store, query: VariantQuery, protections: Protections) -> list[VariantDocument]:
    """Every variant the query matches that rare-allele protection does not hide (skip/limit ignored)."""
    everything = replace(query, skip=0, limit=MAX_PROTECTED_VARIANTS)
    found = store.find_variants(everything)
    if protections.ledger is None or protections.member_budget is None:
        return [document for document in found if not is_rare(document, protections)]
    shown, absent = screen_and_charge(found, allele_count, partial(variant_threshold, protections=protections),
                                      protections.ledger, protections.member_budget.answers)  # fmt: skip
    return [_without(document, absent) for document in shown]


def _without(document: VariantDocument, spent: frozenset[str]) -> VariantDocument:
    """A shown variant as if the members in `spent` were absent: their carriage and the frequencies (which
    count them) are left out."""
    if not any(biosample in spent for biosample, _ in document.carriers):
        return document
    kept = tuple(carrier for carrier in document.carriers if carrier[0] not in spent)
    return replace(document, carriers=kept, frequencies=())


def carriers_of(documents: Iterable[VariantDocument]) -> list[str]:
    """The biosample ids carrying any of the variants, ordered."""
    return sorted({biosample for document in documents for biosample, _ in document.carriers})


def question_key(*parts: Any) -> str:
    """A stable text for a question (the same question always gives the same key)."""
    return json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))


def noisy_count(count: int, epsilon: float, secret: bytes, dataset_id: str, question: str) -> int:
    """`count` plus Laplace(1/epsilon) noise drawn from HMAC(secret, dataset, question), rounded, at least 0."""
    digest = hmac.new(secret, f"{dataset_id}\x00{question}".encode(), hashlib.sha256).digest()
    # A uniform u in (-1/2, 1/2) from 53 bits of the digest; the Laplace inverse CDF turns it into noise.
    uniform = (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53) - 0.5
    uniform = min(max(uniform, -0.5 + 1e-16), 0.5 - 1e-16)
    noise = -math.copysign(1.0, uniform) * math.log(1 - 2 * abs(uniform)) / epsilon
    return max(0, round(count + noise))


def protected_search(
    store: Store, protections: Protections
) -> tuple[Callable[[VariantQuery], int], Callable[[VariantQuery], Sequence[VariantDocument]]]:
    """`count` and `find` of variants as this caller may see them (the store's own when unprotected)."""
    threshold = protections.min_allele_count
    if threshold is None:
        return store.count_variants, store.find_variants

    # A record-level answer counts and then pages the same query: the matching variants are read once.
    @lru_cache(maxsize=1)
    def matching(whole: VariantQuery) -> list[VariantDocument]:
        return common_variants(store, whole, protections)

    def count(query: VariantQuery) -> int:
        return len(matching(replace(query, skip=0, limit=MAX_PROTECTED_VARIANTS)))

    def find(query: VariantQuery) -> list[VariantDocument]:
        page = matching(replace(query, skip=0, limit=MAX_PROTECTED_VARIANTS))[query.skip : query.skip + query.limit]
        return [withhold_rare_frequencies(document, threshold) for document in page]

    return count, find
