"""The README's recommended re-identification setting is the one `make benchmark-privacy` measures."""

from __future__ import annotations

import re
from pathlib import Path

from beacon.auth.policy import AccessPolicy
from benchmarks.privacy_benchmark import Thresholds, policy_text

README = Path(__file__).resolve().parents[2] / "README.md"


def _recommended_block() -> str:
    """The YAML block of the README's Re-identification section."""
    section = README.read_text(encoding="utf-8").split("### Re-identification", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found, "the Re-identification section has no YAML block"
    return found.group(1)


def test_the_readme_recommends_what_the_benchmark_measured(tmp_path):
    readme = tmp_path / "readme.yaml"
    readme.write_text("default_level: PUBLIC\n" + _recommended_block(), encoding="utf-8")
    measured = tmp_path / "benchmark.yaml"
    measured.write_text(policy_text("recommended", Thresholds()), encoding="utf-8")
    recommended, benchmark = (
        AccessPolicy.load(readme).fallback,
        AccessPolicy.load(measured).dataset("privacy-benchmark"),
    )
    assert recommended.rare_alleles is not None and recommended.rare_alleles.member_budget is not None
    assert recommended.rare_alleles == benchmark.rare_alleles
    assert recommended.budgets[0] == benchmark.budgets[0]  # the anonymous tier's query budget
