"""ISO 8601 durations (`P40Y`, `P3Y6M`, `P10W`, `P1Y2M3DT4H`) as lengths in days, so they compare.

Beacon ages (`ageOfOnset.iso8601duration`, `ageAtProcedure`...) are durations, and filters such as
`diseases.ageOfOnset.iso8601duration <= P40Y` compare them by length. Calendar units have no fixed
length, so this module fixes a convention:

* a year is 365.25 days (the Julian year), a month is a twelfth of it (30.4375 days), so `P12M`
  equals `P1Y` and `P6M` equals `P0.5Y`;
* a week is 7 days and a day is 24 hours; hours, minutes and seconds are fractions of a day.

Lengths are summed in seconds and divided once, so equal durations written differently
(`P1D` and `PT24H`, `P1Y` and `P12M`) give exactly the same float. Designators may be lower or
upper case; any component may carry a decimal fraction (`P1.5Y`, `P0,5Y`); negative durations and the
combined date-time form (`P0003-06-00`) are not accepted.
"""

from __future__ import annotations

import re

DAYS_PER_YEAR = 365.25
"""Length of a year in days (Julian year)."""

DAYS_PER_MONTH = DAYS_PER_YEAR / 12
"""Length of a month in days (30.4375)."""

_SECONDS_PER_DAY = 86_400
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
# Seconds per designator, in the order of the groups of _DURATION.
_UNIT_SECONDS = (
    DAYS_PER_YEAR * _SECONDS_PER_DAY,
    DAYS_PER_MONTH * _SECONDS_PER_DAY,
    7 * _SECONDS_PER_DAY,
    _SECONDS_PER_DAY,
    3_600,
    60,
    1,
)


class DurationError(ValueError):
    """A text is not an ISO 8601 duration."""


def is_duration(text: object) -> bool:
    """Whether `text` is a string holding an ISO 8601 duration such as `P40Y`."""
    return isinstance(text, str) and _DURATION.match(text.strip().upper()) is not None


def duration_days(text: str) -> float:
    """Length of an ISO 8601 duration in days (year = 365.25 days, month = 30.4375 days)."""
    match = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None:
        raise DurationError(f"{text!r} is not an ISO 8601 duration (e.g. P40Y, P3Y6M, P10W, P1Y2M3DT4H)")
    seconds = 0.0
    for amount, unit in zip(match.groups(), _UNIT_SECONDS, strict=True):
        if amount is not None:
            seconds += float(amount.replace(",", ".")) * unit
    return seconds / _SECONDS_PER_DAY


def compare_durations(left: str, right: str) -> int:
    """-1, 0 or 1 as duration `left` is shorter than, as long as or longer than `right`."""
    left_days, right_days = duration_days(left), duration_days(right)
    return (left_days > right_days) - (left_days < right_days)
