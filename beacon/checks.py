"""Checks of a beacon's configuration against its store: `beacon check`, and the start-up warnings of a server.

Errors stop `beacon check` (exit 1): settings or policy files that cannot be read, a store that cannot
be read, an access policy naming a dataset the store does not have (a typo there leaves the real
dataset at the default level without a word), an info file whose `/info` the Beacon schema refuses.
Warnings are told but do not fail: datasets the policy does not name (they get its default level),
no policy or info file at all, info file keys that nothing reads, a member budget on a dataset whose
variants were loaded without case-level data (it cannot tell who decides an answer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from beacon.auth.policy import AccessPolicy
    from beacon.settings import Settings
    from beacon.store.base import Store

INFO_KEYS = frozenset(
    {"id", "name", "organization", "environment", "description", "version", "welcomeUrl", "createDateTime"}
)
"""The info file keys `/info` is built from (`beacon.query.framework.BeaconIdentity.from_info`)."""


@dataclass(frozen=True)
class Problem:
    """One finding: an error (the configuration is wrong) or a warning (it may be meant)."""

    level: Literal["error", "warning"]
    message: str


def check_configuration(settings: Settings, store: Store) -> list[Problem]:
    """Every problem of the policy, the store and the info file, errors first."""
    from beacon.auth.policy import AccessPolicy, PolicyError
    from beacon.store.base import StoreError

    problems: list[Problem] = list(info_problems(settings))
    try:
        policy = AccessPolicy.load(settings.access_file)
    except PolicyError as error:
        problems.append(Problem("error", str(error)))
        policy = None
    try:
        store.check()
        dataset_ids = [dataset["id"] for dataset in store.list_datasets()]
    except StoreError as error:
        problems.append(Problem("error", f"store {store.where}: {error}"))
    else:
        if policy is not None:
            problems += policy_problems(policy, dataset_ids)
            problems += member_budget_problems(policy, store, dataset_ids)
    return sorted(problems, key=lambda problem: problem.level != "error")


def policy_problems(policy: AccessPolicy, dataset_ids: list[str]) -> list[Problem]:
    """Datasets the policy names that the store lacks (errors), and stored datasets it does not name (warnings)."""
    if policy.source is None:
        return [Problem("warning", "no access policy (BEACON_ACCESS_FILE): every dataset is CONTROLLED")]
    stored = set(dataset_ids)
    problems = [
        Problem("error", f"{policy.source}: datasets.{name}: no dataset {name!r} in the store (a typo?)")
        for name in policy.datasets
        if name not in stored
    ]
    problems += [
        Problem(
            "warning",
            f"{policy.source}: dataset {name!r} is not named: it gets the default level {policy.default_level.value}",
        )
        for name in dataset_ids
        if name not in policy.datasets
    ]
    return problems


def member_budget_problems(policy: AccessPolicy, store: Store, dataset_ids: list[str]) -> list[Problem]:
    """Datasets whose policy sets a member budget but whose variants have no carriers (warnings)."""
    from beacon.store.base import VariantQuery

    problems = []
    for dataset_id in dataset_ids:
        rare = policy.dataset(dataset_id).rare_alleles
        if rare is None or rare.member_budget is None:
            continue
        if not store.count_variants(VariantQuery(dataset_id, kind="all")):
            continue  # nothing to protect yet
        if "caseLevelData" not in store.variant_annotations(dataset_id):
            problems.append(
                Problem(
                    "warning",
                    f"dataset {dataset_id!r}: its rare-allele protection (by default, or as the policy sets it) has a "
                    "member budget, but its variants were loaded without case-level data (load them with --case-level):"
                    f" alleles with fewer than {rare.min_allele_count} copies are hidden, and nothing more protects "
                    "its members (README: Re-identification)",
                )
            )
    return problems


def info_problems(settings: Settings) -> list[Problem]:
    """The info file against the Beacon schema of `/info`, and keys nothing reads."""
    from beacon.query.framework import BeaconIdentity, build_info
    from beacon.schemas import default_validator, describe_error

    if not settings.info:
        return [Problem("warning", "no info file (BEACON_INFO_FILE): /info names an example organisation")]
    problems = [
        Problem("warning", f"BEACON_INFO_FILE: key {key!r} is not used (known: {', '.join(sorted(INFO_KEYS))})")
        for key in settings.info
        if key not in INFO_KEYS
    ]
    document = build_info(BeaconIdentity.from_info(settings.info, settings.environment, settings.base_url))
    for error in default_validator().framework_errors("info", document):
        problem = describe_error(error).removeprefix("response.")  # the info file's own field names
        problems.append(Problem("error", f"BEACON_INFO_FILE: /info would be refused by the Beacon schema: {problem}"))
    return problems


def log_problems(problems: list[Problem], logger: logging.Logger | Any) -> None:
    """Log each problem at its level (the server's start-up; a logging or gunicorn logger)."""
    for problem in problems:
        (logger.error if problem.level == "error" else logger.warning)("configuration: %s", problem.message)
