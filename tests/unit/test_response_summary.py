"""The responseSummary rule of beacon.query.responses on hand-made per-dataset results."""

from __future__ import annotations

import pytest

from beacon.query.granularity import Granularity
from beacon.query.responses import BOOLEAN_LOWER_BOUND, DatasetResult, response_summary

B, C, R = Granularity.BOOLEAN, Granularity.COUNT, Granularity.RECORD


def result(granularity: Granularity, count: int, adjusted: tuple = (), precision: str | None = None) -> DatasetResult:
    return DatasetResult("d", granularity, count, count_adjusted_to=adjusted, count_precision=precision)


CASES = {
    "nothing visible": (C, [], {"exists": False, "numTotalResults": 0}),
    "boolean response never counts": (B, [result(B, 7), result(R, 3)], {"exists": True}),
    "exact counts add up": (R, [result(R, 3), result(C, 4), result(C, 0)], {"exists": True, "numTotalResults": 7}),
    "a boolean miss adds an exact 0": (C, [result(C, 4), result(B, 0)], {"exists": True, "numTotalResults": 4}),
    "a boolean hit adds 1, whatever its count": (
        C,
        [result(C, 0), result(B, 250)],
        {"exists": True, "numTotalResults": 1, "countPrecision": "imprecise", "countAdjustedTo": [BOOLEAN_LOWER_BOUND]},
    ),
    "rounded parts and zeros stay rounded": (
        C,
        [result(C, 20, ("next multiple of 10",), "rounded"), result(C, 0)],
        {
            "exists": True,
            "numTotalResults": 20,
            "countPrecision": "rounded",
            "countAdjustedTo": ["next multiple of 10"],
        },
    ),
    "a rounded part plus an exact one is imprecise": (
        R,
        [result(C, 20, ("next multiple of 10",), "rounded"), result(R, 3)],
        {
            "exists": True,
            "numTotalResults": 23,
            "countPrecision": "imprecise",
            "countAdjustedTo": ["next multiple of 10"],
        },
    ),
    "more than two adjustments are only imprecise (the spec allows two)": (
        C,
        [result(C, 5, (5,), "imprecise"), result(C, 10, ("next multiple of 10",), "rounded"), result(B, 1)],
        {"exists": True, "numTotalResults": 16, "countPrecision": "imprecise"},
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_response_summary(name):
    granularity, results, expected = CASES[name]
    summary = response_summary(granularity, results)
    assert summary == expected
    if "numTotalResults" in summary:  # the rule's promise: exists exactly when the total is above 0
        assert summary["exists"] is (summary["numTotalResults"] > 0)
