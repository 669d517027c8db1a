"""Under CI=true a skipped test is a failure, except a real-MongoDB test while BEACON_TEST_MONGO_URI is unset.

CI installs every prerequisite (`make test`: Debian's nodejs and npm, `npm ci` in tests/oidc), so a
skip there means a check silently did not run. Registered for the whole suite by tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

MONGO_VARIABLE = "BEACON_TEST_MONGO_URI"
"""Named in the skip reason of every test that needs a real MongoDB server (tests/store/conftest.py)."""


def skip_is_a_failure(report: pytest.CollectReport | pytest.TestReport) -> bool:
    """True for a skip that CI must not accept (an expected failure, xfail, is not a skip)."""
    if not report.skipped or hasattr(report, "wasxfail") or os.environ.get("CI", "").lower() != "true":
        return False
    return not (MONGO_VARIABLE in skip_reason(report) and not os.environ.get(MONGO_VARIABLE))


def skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The reason a skip report gives."""
    longrepr = report.longrepr
    return (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")


def _fail(report: pytest.CollectReport | pytest.TestReport) -> None:
    reason = skip_reason(report)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, where every prerequisite is installed: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Turn a disallowed skip of a test (in a fixture or in the test) into a failure."""
    outcome: Any = yield
    report = outcome.get_result()
    if skip_is_a_failure(report):
        _fail(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Turn a disallowed skip of a whole module into a collection error."""
    outcome: Any = yield
    report = outcome.get_result()
    if skip_is_a_failure(report):
        _fail(report)
