"""The protection every dataset gets unless the policy says otherwise: rare alleles (fewer than 3 copies) are
not found for anonymous and registered callers, and each member decides at most one answer per caller.

Expected answers come from the demo VCF's genotypes read with cyvcf2 (tests.privacy.test_member_budget).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from beacon import create_app
from tests.conftest import DEMO_DATASET, make_settings
from tests.privacy.test_member_budget import ALLELES, exists

THRESHOLD = 3
YEAR = 365 * 86400


def pivotal(sample: str) -> list[dict[str, Any]]:
    """Alleles with exactly 3 copies, one of them the sample's: without it they fall below the threshold."""
    return [a for a in ALLELES if a["ac"] == THRESHOLD and a["carriers"].get(sample) == 1]


TARGET = max({s for a in ALLELES if a["ac"] == THRESHOLD for s in a["carriers"]}, key=lambda s: len(pivotal(s)))
RARE = next(a for a in ALLELES if a["ac"] == THRESHOLD - 1)
COMMON_OF_TARGET = next(a for a in ALLELES if a["ac"] >= 5 and a["carriers"].get(TARGET) == 1)

POLICIES = {
    "no policy file": None,
    "a policy without rare_alleles": f"default_level: CONTROLLED\ndatasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n",
}


def client_for(store: Path, directory: Path, policy: str | None) -> FlaskClient:
    access = None
    if policy is not None:
        access = directory / "policy.yaml"
        access.write_text(policy, encoding="utf-8")
    limits = f"sqlite:///{directory / 'limits.sqlite'}"
    return create_app(make_settings(store, access_file=access, limits_uri=limits)).test_client()


def demo_privacy(client: FlaskClient) -> dict[str, Any]:
    """The demo dataset's `info.privacy` in `/datasets` (empty when it has no defences)."""
    document = client.get("/api/datasets", query_string={"requestedGranularity": "record"}).get_json()
    demo = next(record for record in document["response"]["collections"] if record["id"] == DEMO_DATASET)
    return demo["info"].get("privacy", {})


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_by_default_rare_alleles_are_not_found_and_a_member_decides_one_answer(demo_store_file, tmp_path, policy):
    client = client_for(demo_store_file, tmp_path, policy)
    decided = pivotal(TARGET)
    assert len(decided) >= 3
    assert not exists(client, RARE, "10.0.0.1")  # 2 copies, below 3
    # The first allele the target lifts to 3 copies is shown; then the target counts as absent for this
    # caller, and the others, 2 copies without it, are not found.
    assert [exists(client, allele, "10.0.0.1") for allele in decided] == [True] + [False] * (len(decided) - 1)
    assert exists(client, decided[-1], "10.0.0.2")  # another caller's budgets are whole
    assert COMMON_OF_TARGET["ac"] - 1 >= THRESHOLD
    assert exists(client, COMMON_OF_TARGET, "10.0.0.1")  # what keeps 3 copies without the target is found


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
def test_the_dataset_info_describes_the_default_protection(demo_store_file, tmp_path, policy):
    client = client_for(demo_store_file, tmp_path, policy)
    described = demo_privacy(client)["rareAlleleProtection"]
    assert (described["minAlleleCount"], described["tiers"]) == (THRESHOLD, ["anonymous", "registered"])
    budget = described["memberBudget"]
    assert (budget["answers"], budget["windowSeconds"], budget["scope"]) == (1, YEAR, "caller")


def test_a_policy_turns_the_default_off(demo_store_file, tmp_path):
    policy = f"rare_alleles: {{enabled: false}}\ndatasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n"
    client = client_for(demo_store_file, tmp_path, policy)
    singleton = next(a for a in ALLELES if a["ac"] == 1)
    assert exists(client, singleton, "10.0.0.1")
    assert all(exists(client, allele, "10.0.0.1") for allele in pivotal(TARGET))
    assert "rareAlleleProtection" not in demo_privacy(client)


@pytest.mark.parametrize(
    ("entry", "threshold", "budget"),
    [("{}", 5, None), ("{member_budget: {answers: 2}}", 3, 2), ("{min_allele_count: 7}", 7, None)],
)
def test_a_policy_entry_without_a_threshold_takes_3_with_a_member_budget_and_5_without(
    demo_store_file, tmp_path, entry, threshold, budget
):
    policy = f"rare_alleles: {entry}\ndatasets:\n  {DEMO_DATASET}: {{level: PUBLIC}}\n"
    client = client_for(demo_store_file, tmp_path, policy)
    described = demo_privacy(client)["rareAlleleProtection"]
    assert described["minAlleleCount"] == threshold
    assert described.get("memberBudget", {}).get("answers") == budget
