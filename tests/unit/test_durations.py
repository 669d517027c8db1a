"""ISO 8601 durations: parsing to days (year = 365.25 d, month = 30.4375 d) and comparison."""

from __future__ import annotations

import pytest

from beacon.query.durations import DurationError, compare_durations, duration_days, is_duration


# Expected lengths worked out by hand from the documented convention.
@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("P40Y", 14610.0),  # 40 * 365.25
        ("P3Y6M", 1278.375),  # 3 * 365.25 + 6 * 30.4375
        ("P10W", 70.0),
        ("P1Y2M3DT4H", 365.25 + 60.875 + 3 + 4 / 24),
        ("P1M", 30.4375),
        ("P1D", 1.0),
        ("PT36H", 1.5),
        ("PT90M", 0.0625),
        ("PT43200S", 0.5),
        ("P0.5Y", 182.625),
        ("P0,5Y", 182.625),
        ("P32Y6M1D", 11871.625),  # the ageAtExposure of EGA's synthetic SAMPLE1
        ("p40y", 14610.0),
        (" P40Y ", 14610.0),
        ("P0D", 0.0),
    ],
)
def test_duration_days(text: str, days: float) -> None:
    assert duration_days(text) == pytest.approx(days, abs=1e-12)


@pytest.mark.parametrize(
    ("same", "other"), [("P1Y", "P12M"), ("P1D", "PT24H"), ("P1W", "P7D"), ("P6M", "P0.5Y"), ("PT1H", "PT60M")]
)
def test_equal_durations_written_differently_are_exactly_equal(same: str, other: str) -> None:
    assert duration_days(same) == duration_days(other)
    assert compare_durations(same, other) == 0


@pytest.mark.parametrize(
    ("shorter", "longer"),
    [
        ("P3Y6M", "P40Y"),
        ("P11M", "P1Y"),
        ("P364D", "P1Y"),
        ("P39Y11M30D", "P40Y"),
        ("PT23H", "P1D"),
        ("P8W", "P2M"),
        ("P2M", "P9W"),
    ],
)
def test_compare_orders_by_length(shorter: str, longer: str) -> None:
    assert compare_durations(shorter, longer) == -1
    assert compare_durations(longer, shorter) == 1


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "40Y", "P40", "P1Y1", "P1YT", "-P1Y", "P1.Y", "P1H", "PY", "P0003-06-00", "P1Y 2M", "forty years"],
)
def test_malformed_durations_are_rejected(text: str) -> None:
    assert not is_duration(text)
    with pytest.raises(DurationError, match="not an ISO 8601 duration"):
        duration_days(text)


@pytest.mark.parametrize("value", [None, 40, 14610.0, ["P40Y"]])
def test_non_strings_are_not_durations(value: object) -> None:
    assert not is_duration(value)


def test_duration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        compare_durations("P40Y", "forty")
