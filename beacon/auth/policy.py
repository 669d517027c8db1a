"""The access policy: each dataset's security level, the granularity ceiling of each caller tier and
the small-count protection of counts shown to callers who may not see the records."""

from __future__ import annotations

import enum
import json
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from beacon.auth.principal import Principal
from beacon.auth.privacy_policy import (
    DEFAULT_RARE_ALLELES,
    NO_BUDGETS,
    Budgets,
    QueryBudget,
    RareAlleles,
    describe,
    parse_budgets,
    parse_noise,
    parse_rare_alleles,
)
from beacon.query.granularity import Granularity
from beacon.query.privacy import NO_PROTECTIONS, Protections
from beacon.query.responses import EXACT_COUNTS, CountProtection
from beacon.schemas import schema_path

POLICY_SCHEMA_NAME = "access-policy.schema.json"
TIERS = ("anonymous", "registered", "controlled")
"""Caller tiers for one dataset: no (acceptable) token, registered, granted by a visa."""


class SecurityLevel(enum.StrEnum):
    """A dataset's Beacon security level."""

    PUBLIC = "PUBLIC"
    REGISTERED = "REGISTERED"
    CONTROLLED = "CONTROLLED"


Ceiling = Granularity | None
"""The most a tier may see of a dataset; None hides the dataset from that tier."""

_B, _C, _R = Granularity.BOOLEAN, Granularity.COUNT, Granularity.RECORD
DEFAULT_CEILINGS: Mapping[SecurityLevel, tuple[Ceiling, Ceiling, Ceiling]] = {
    SecurityLevel.PUBLIC: (_R, _R, _R),
    SecurityLevel.REGISTERED: (_B, _R, _R),
    SecurityLevel.CONTROLLED: (_B, _C, _R),
}
"""Ceilings per level, in TIERS order, as issue #4 sets them; a policy file may only narrow them."""


class PolicyError(Exception):
    """The access policy file is unreadable or invalid; the message names the file and the field."""


@dataclass(frozen=True)
class DatasetPolicy:
    """The policy of one dataset."""

    level: SecurityLevel
    visas: frozenset[str]
    """ControlledAccessGrants values that grant this dataset."""
    ceilings: tuple[Ceiling, Ceiling, Ceiling]
    """Per tier, in TIERS order."""
    counts: CountProtection = EXACT_COUNTS
    """Small-count protection (`min_count`, `count_precision`) of counts below record level."""
    test: bool = False
    """A test dataset (`test_dataset: true`): answered only to requests in `testMode`."""
    budgets: Budgets = NO_BUDGETS
    """Query budget per tier, in TIERS order (None: unlimited)."""
    rare_alleles: RareAlleles | None = None
    noise_epsilon: float | None = None

    @classmethod
    def default(
        cls, level: SecurityLevel, budgets: Budgets = NO_BUDGETS, rare_alleles: RareAlleles | None = None
    ) -> DatasetPolicy:
        """A dataset the file does not name (the file's top-level budgets and rare-allele protection)."""
        return cls(level, frozenset(), DEFAULT_CEILINGS[level], budgets=budgets, rare_alleles=rare_alleles)


class AccessPolicy:
    """Answers, per dataset and caller, the security level and how much may be shown."""

    def __init__(
        self,
        default_level: SecurityLevel,
        datasets: Mapping[str, DatasetPolicy],
        source: Path | None,
        fallback: DatasetPolicy | None = None,
    ) -> None:
        self.default_level = default_level
        self.datasets: Mapping[str, DatasetPolicy] = types.MappingProxyType(dict(datasets))
        self.source = source
        self.fallback = fallback or DatasetPolicy.default(default_level)
        """The policy of datasets the file does not name."""

    @classmethod
    def load(cls, path: Path | None) -> AccessPolicy:
        """Read and validate a YAML/JSON policy file; None gives the secure default (all CONTROLLED)."""
        if path is None:
            secure = DatasetPolicy.default(SecurityLevel.CONTROLLED, NO_BUDGETS, DEFAULT_RARE_ALLELES)
            return cls(SecurityLevel.CONTROLLED, {}, None, secure)
        document = _read_document(path)
        _validate(document, path)
        default_level = SecurityLevel(document.get("default_level", SecurityLevel.CONTROLLED))
        budgets = parse_budgets(document.get("query_budget"))
        rare = parse_rare_alleles(document.get("rare_alleles"), DEFAULT_RARE_ALLELES)
        datasets = {
            dataset_id: _dataset_policy(path, dataset_id, entry, budgets, rare)
            for dataset_id, entry in document.get("datasets", {}).items()
        }
        return cls(default_level, datasets, path, DatasetPolicy.default(default_level, budgets, rare))

    @property
    def secure_default(self) -> bool:
        """True when no policy file was given, so every dataset is CONTROLLED."""
        return self.source is None

    def dataset(self, dataset_id: str) -> DatasetPolicy:
        """The policy of `dataset_id` (the default level's when the file does not name it)."""
        found = self.datasets.get(dataset_id)
        return found if found is not None else self.fallback

    def security_level(self, dataset_id: str) -> SecurityLevel:
        """PUBLIC, REGISTERED or CONTROLLED (a str enum)."""
        return self.dataset(dataset_id).level

    def is_granted(self, principal: Principal, dataset_id: str) -> bool:
        """True when a verified ControlledAccessGrants value of `principal` is one of the dataset's values."""
        if principal.subject is None:
            return False
        return not self.dataset(dataset_id).visas.isdisjoint(principal.grants)

    def tier(self, principal: Principal, dataset_id: str) -> str:
        """Which of TIERS `principal` is in for `dataset_id`."""
        if self.is_granted(principal, dataset_id):
            return "controlled"
        if principal.subject is not None and principal.registered:
            return "registered"
        return "anonymous"

    def ceiling(self, principal: Principal, dataset_id: str) -> Granularity | None:
        """The most `principal` may see of `dataset_id`; None means the dataset is hidden from them."""
        return self.dataset(dataset_id).ceilings[TIERS.index(self.tier(principal, dataset_id))]

    def count_protection(self, dataset_id: str) -> CountProtection:
        """How counts of `dataset_id` are shown to callers whose ceiling is below record."""
        return self.dataset(dataset_id).counts

    @property
    def has_budgets(self) -> bool:
        """Whether any dataset (or the default) has a query budget or a member budget (both need counters)."""
        entries = [self.fallback, *self.datasets.values()]
        members = any(entry.rare_alleles is not None and entry.rare_alleles.member_budget for entry in entries)
        return members or any(budget is not None for entry in entries for budget in entry.budgets)

    def query_budget(self, principal: Principal, dataset_id: str) -> QueryBudget | None:
        """How many queries of `dataset_id` this caller may make per window; None: unlimited."""
        return self.dataset(dataset_id).budgets[TIERS.index(self.tier(principal, dataset_id))]

    def protections(self, principal: Principal, dataset_id: str) -> Protections:
        """The rare-allele protection and noisy counts that apply to this caller's answers from `dataset_id`."""
        entry = self.dataset(dataset_id)
        tier = self.tier(principal, dataset_id)
        rare = entry.rare_alleles
        threshold = rare.min_allele_count if rare is not None and tier in rare.tiers else None
        if threshold is None and entry.noise_epsilon is None:
            return NO_PROTECTIONS
        jitter = rare.threshold_jitter if rare is not None and threshold is not None else 0
        member_budget = rare.member_budget if rare is not None and threshold is not None else None
        return Protections(threshold, jitter, noise_epsilon=entry.noise_epsilon, member_budget=member_budget)

    def privacy_info(self, dataset_id: str) -> dict[str, Any]:
        """The dataset's defences, for its record's `info.privacy` (empty when it has none)."""
        entry = self.dataset(dataset_id)
        return describe(entry.budgets, entry.rare_alleles, entry.noise_epsilon)

    def is_test_dataset(self, dataset_id: str) -> bool:
        """Whether the file marks `dataset_id` as a test dataset (answered only in `testMode`)."""
        return self.dataset(dataset_id).test

    def security_levels(self) -> list[str]:
        """Levels in use (the default level included), for `securityAttributes.securityLevels`."""
        used = {self.default_level, *(entry.level for entry in self.datasets.values())}
        return [level.value for level in SecurityLevel if level in used]

    def security_attributes(self) -> dict[str, Any]:
        """The `/configuration` `securityAttributes` object (anonymous ceiling of the default level)."""
        anonymous = DatasetPolicy.default(self.default_level).ceilings[0] or Granularity.BOOLEAN
        return {"defaultGranularity": anonymous.value, "securityLevels": self.security_levels()}


def policy_schema_path() -> Path:
    """The JSON Schema of policy files, from the schemas package (`schemas/` of the source tree)."""
    return schema_path(POLICY_SCHEMA_NAME)


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{path}: cannot read the access policy file ({error})") from None
    is_json = path.suffix.lower() == ".json"
    try:
        document = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise PolicyError(f"{path}: not valid {'JSON' if is_json else 'YAML'}: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: (top level): the policy must be a mapping with 'datasets'")
    datasets = document.get("datasets")
    if isinstance(datasets, dict) and not all(isinstance(key, str) for key in datasets):
        raise PolicyError(f"{path}: datasets: dataset ids must be strings (quote numeric ids)")
    return document


def _validate(document: dict[str, Any], path: Path) -> None:
    schema = json.loads(policy_schema_path().read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        field = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise PolicyError(f"{path}: {field}: {error.message}")


def _dataset_policy(
    path: Path, dataset_id: str, entry: dict[str, Any], budgets: Budgets, rare: RareAlleles | None
) -> DatasetPolicy:
    level = SecurityLevel(entry["level"])
    overrides = entry.get("granularity", {})
    ceilings = tuple(
        _ceiling(path, f"datasets.{dataset_id}.granularity.{tier}", overrides.get(tier), default)
        for tier, default in zip(TIERS, DEFAULT_CEILINGS[level], strict=True)
    )
    for lower, higher, tier in zip(ceilings, ceilings[1:], TIERS[1:], strict=False):
        if _rank(higher) < _rank(lower):
            raise PolicyError(
                f"{path}: datasets.{dataset_id}.granularity.{tier}: a higher tier may not see less than a lower one"
            )
    counts = CountProtection(_whole(entry.get("min_count")), _whole(entry.get("count_precision")))
    visas = frozenset(entry.get("visas", ()))
    return DatasetPolicy(
        level,
        visas,
        ceilings,  # type: ignore[arg-type]
        counts,
        bool(entry.get("test_dataset", False)),
        budgets=parse_budgets(entry.get("query_budget"), budgets),
        rare_alleles=parse_rare_alleles(entry.get("rare_alleles"), rare),
        noise_epsilon=parse_noise(entry.get("noisy_counts")),
    )


def _ceiling(path: Path, field: str, text: str | None, default: Ceiling) -> Ceiling:
    if text is None:
        return default
    ceiling = None if text == "none" else Granularity.parse(text)
    if _rank(ceiling) > _rank(default):
        limit = default.value if default else "none"
        raise PolicyError(f"{path}: {field}: {text!r} exceeds what the level allows ({limit})")
    return ceiling


def _rank(ceiling: Ceiling) -> int:
    return -1 if ceiling is None else ceiling.rank


def _whole(number: float | None) -> int | None:
    # JSON Schema accepts 10.0 as an integer; counts must still be reported as 10.
    return None if number is None else int(number)
