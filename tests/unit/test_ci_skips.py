"""tests/ci_skips.py, run for real: pytest in a subprocess on small test files, with and without CI=true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from tests.ci_skips import MONGO_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
TESTS = f"""
import pytest

@pytest.fixture
def provider():
    pytest.skip("node is not installed (needed for the local OpenID provider)")

def test_skips_for_node():
    pytest.skip("npm is missing")

def test_skips_in_a_fixture(provider):
    pass

def test_skips_for_mongodb():
    pytest.skip("no real MongoDB: set {MONGO_VARIABLE}=mongodb://HOST:PORT to run this test against one")

@pytest.mark.xfail(reason="a known bug")
def test_expected_failure():
    assert False

def test_passes():
    pass
"""


def run_pytest(tmp_path: Path, *sources: str, **env: str) -> tuple[int, dict[str, str], str]:
    """Exit code, outcome of each test (from the JUnit report) and terminal output of a pytest run."""
    for number, source in enumerate(sources):
        (tmp_path / f"test_small_{number}.py").write_text(source)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's settings
    environment = {key: value for key, value in os.environ.items() if key not in ("CI", MONGO_VARIABLE)}
    environment.update(PYTHONPATH=str(ROOT), **env)
    command = [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:randomly", "-p", "no:cacheprovider"]
    command += ["-ra", "--junitxml", str(tmp_path / "report.xml"), str(tmp_path)]
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    outcomes = {}
    for case in ElementTree.parse(tmp_path / "report.xml").iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("skipped", "failure", "error")]
        outcomes[case.get("name")] = kinds[0] if kinds else "passed"
    return done.returncode, outcomes, done.stdout


def summary(output: str) -> str:
    """The closing summary line of a pytest run."""
    return [line for line in output.splitlines() if re.match(r"^=+ .*\d+ \w+.* =+$", line)][-1]


def test_under_ci_a_skip_for_a_missing_prerequisite_fails_the_run(tmp_path):
    code, outcomes, output = run_pytest(tmp_path, TESTS, CI="true")
    assert code == 1, output
    assert outcomes == {
        "test_skips_for_node": "failure",
        "test_skips_in_a_fixture": "error",  # a failing fixture is an error of the test
        "test_skips_for_mongodb": "skipped",  # the one allowed skip: no real MongoDB was given
        "test_expected_failure": "skipped",  # JUnit's name for xfail: untouched
        "test_passes": "passed",
    }
    assert "skipped under CI=true, where every prerequisite is installed: npm is missing" in output
    assert re.search(r"1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error", summary(output)), output


def test_without_ci_skips_stay_skips_and_are_counted(tmp_path):
    code, outcomes, output = run_pytest(tmp_path, TESTS)
    assert code == 0, output
    assert [name for name, outcome in outcomes.items() if outcome == "skipped"] == [
        "test_skips_for_node",
        "test_skips_in_a_fixture",
        "test_skips_for_mongodb",
        "test_expected_failure",
    ]
    assert "3 skipped" in summary(output)
    assert "SKIPPED [1]" in output and "npm is missing" in output  # -ra lists each reason


def test_under_ci_a_mongodb_skip_fails_when_a_server_was_given(tmp_path):
    code, outcomes, output = run_pytest(tmp_path, TESTS, CI="true", **{MONGO_VARIABLE: "mongodb://127.0.0.1:1"})
    assert code == 1, output
    assert outcomes["test_skips_for_mongodb"] == "failure"


def test_under_ci_a_skipped_module_fails_the_run(tmp_path):
    skipped = 'import pytest\npytest.skip("cyvcf2 is missing", allow_module_level=True)\n\ndef test_x():\n    pass\n'
    passing = "def test_passes():\n    pass\n"
    code, _, output = run_pytest(tmp_path, skipped, passing, CI="true")
    assert code == 2, output  # a collection error interrupts the run
    assert "skipped under CI=true, where every prerequisite is installed: cyvcf2 is missing" in output
    code, _, output = run_pytest(tmp_path, skipped, passing)
    assert code == 0 and "1 passed, 1 skipped" in summary(output), output
