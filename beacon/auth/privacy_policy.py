"""The re-identification defences of the access policy: query budgets, rare-allele protection, noisy counts.

In the policy file, top-level `query_budget` and `rare_alleles` apply to every dataset that does not
set its own; `noisy_counts` is set per dataset (opt-in). Rare-allele protection with a member budget is on
unless the file says otherwise (DEFAULT_RARE_ALLELES; `rare_alleles: {enabled: false}` turns it off):

    query_budget: {anonymous: {queries: 10000, window: 86400}, registered: {queries: 50000, window: 86400}}
    rare_alleles: {min_allele_count: 3, tiers: [anonymous, registered], member_budget: {answers: 1}}
    datasets:
      X: {level: PUBLIC, noisy_counts: {epsilon: 1.0}, query_budget: {anonymous: {queries: 100, window: 3600}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beacon.query.member_budget import MemberBudget

TIER_NAMES = ("anonymous", "registered", "controlled")
DEFAULT_MIN_ALLELE_COUNT = 5
DEFAULT_RARE_TIERS = ("anonymous", "registered")
DEFAULT_THRESHOLD_JITTER = 0
DEFAULT_MEMBER_WINDOW = 365 * 86400.0
"""A member's budget per caller lasts a year unless the policy says otherwise."""


@dataclass(frozen=True)
class QueryBudget:
    """How many queries of one dataset one caller may make in any `window` seconds."""

    queries: int
    window: float


@dataclass(frozen=True)
class RareAlleles:
    """Rare-allele protection: variants with a total allele count below `min_allele_count`, for `tiers`."""

    min_allele_count: int = DEFAULT_MIN_ALLELE_COUNT
    tiers: frozenset[str] = frozenset(DEFAULT_RARE_TIERS)
    threshold_jitter: int = DEFAULT_THRESHOLD_JITTER
    member_budget: MemberBudget | None = None
    """How many answers one member may decide per caller (beacon.query.member_budget); None: not counted."""


Budgets = tuple[QueryBudget | None, QueryBudget | None, QueryBudget | None]
NO_BUDGETS: Budgets = (None, None, None)


def parse_budgets(entry: Mapping[str, Any] | None, inherited: Budgets = NO_BUDGETS) -> Budgets:
    """Per tier (TIER_NAMES order) the budget an entry sets, else the inherited one."""
    if entry is None:
        return inherited
    return tuple(  # type: ignore[return-value]
        QueryBudget(int(entry[tier]["queries"]), float(entry[tier]["window"])) if tier in entry else default
        for tier, default in zip(TIER_NAMES, inherited, strict=True)
    )


DEFAULT_RARE_ALLELES = RareAlleles(3, frozenset(DEFAULT_RARE_TIERS), 0, MemberBudget(1, DEFAULT_MEMBER_WINDOW))
"""What every dataset gets unless the policy file sets `rare_alleles` (and without a policy file): the setting
that held the membership attack to the target of issue #16 in `make benchmark-privacy` (README)."""


def parse_rare_alleles(entry: Mapping[str, Any] | None, inherited: RareAlleles | None = None) -> RareAlleles | None:
    """The rare-allele protection an entry sets (`{}` takes the defaults), else the inherited one."""
    if entry is None:
        return inherited
    if entry.get("enabled") is False:
        return None
    member_budget = parse_member_budget(entry.get("member_budget"))
    # With a member budget no allele of 5 or more copies is ever decided at 3 (a member has 1 or 2 copies);
    # without one, 3 protects little (README: Re-identification), so the threshold it defaults to is 5.
    threshold = DEFAULT_MIN_ALLELE_COUNT if member_budget is None else DEFAULT_RARE_ALLELES.min_allele_count
    return RareAlleles(
        int(entry.get("min_allele_count", threshold)),
        frozenset(entry.get("tiers", DEFAULT_RARE_TIERS)),
        int(entry.get("threshold_jitter", DEFAULT_THRESHOLD_JITTER)),
        member_budget,
    )


def parse_member_budget(entry: Mapping[str, Any] | None) -> MemberBudget | None:
    """The member budget of a `rare_alleles` entry (`{answers, window, scope}`); None when it sets none."""
    if entry is None:
        return None
    window = float(entry.get("window", DEFAULT_MEMBER_WINDOW))
    return MemberBudget(int(entry["answers"]), window, entry.get("scope", "caller") == "everyone")


def parse_noise(entry: Mapping[str, Any] | None) -> float | None:
    """The epsilon of a dataset's noisy counts; None when it does not opt in."""
    return None if entry is None else float(entry["epsilon"])


def describe(budgets: Budgets, rare: RareAlleles | None, epsilon: float | None) -> dict[str, Any]:
    """The defences of one dataset as its record's `info.privacy` says them (for data users)."""
    described: dict[str, Any] = {}
    spent = {
        tier: {"queries": budget.queries, "windowSeconds": budget.window}
        for tier, budget in zip(TIER_NAMES, budgets, strict=True)
        if budget is not None
    }
    if spent:
        described["queryBudget"] = spent
    if rare is not None:
        described["rareAlleleProtection"] = {
            "minAlleleCount": rare.min_allele_count,
            "thresholdJitter": rare.threshold_jitter,
            "tiers": sorted(rare.tiers, key=TIER_NAMES.index),
            "effect": "variants with a total allele count below minAlleleCount are answered as not found, "
            "and populations in which an allele is that rare are left out of frequencies",
        }
        if rare.member_budget is not None:
            described["rareAlleleProtection"]["memberBudget"] = {
                "answers": rare.member_budget.answers,
                "windowSeconds": rare.member_budget.window,
                "scope": "everyone" if rare.member_budget.everyone else "caller",
                "effect": "per caller (scope caller) or for all callers together (scope everyone), the answers "
                "each member decides (an allele shown only because of their copies) are counted; once a member "
                "has decided this many, those callers are answered as if the member were absent",
            }
    if epsilon is not None:
        described["noisyCounts"] = {
            "mechanism": "Laplace noise of scale 1/epsilon added to counts, rounded, at least 0; "
            "the same question always gets the same answer",
            "epsilon": epsilon,
            "countPrecision": "imprecise",
        }
    return described
