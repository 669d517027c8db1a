"""Response granularity: boolean < count < record, as the Beacon v2 spec orders them."""

from __future__ import annotations

import enum


class Granularity(enum.Enum):
    """A Beacon response granularity; members compare by how much they reveal."""

    BOOLEAN = "boolean"
    COUNT = "count"
    RECORD = "record"

    @property
    def rank(self) -> int:
        """Position in the order boolean < count < record."""
        return _RANK[self]

    def __lt__(self, other: Granularity) -> bool:
        return self.rank < other.rank

    def __le__(self, other: Granularity) -> bool:
        return self.rank <= other.rank

    @classmethod
    def parse(cls, text: str) -> Granularity:
        """Parse a spec string (`boolean`, `count`, `record`), case-insensitively."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(g.value for g in cls)
            raise ValueError(f"unknown granularity {text!r} (allowed: {allowed})") from None


_RANK = {Granularity.BOOLEAN: 0, Granularity.COUNT: 1, Granularity.RECORD: 2}


def narrowest(*levels: Granularity) -> Granularity:
    """The least revealing of the given granularities."""
    return min(levels, key=lambda g: g.rank)
