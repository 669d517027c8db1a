"""A plain-text reading of the SV test VCFs: an oracle for the loader that shares none of its code.

Records are split on tabs; INFO becomes a dict of raw strings (flags map to ""). Nothing here knows
what the loader does with a record: tests state the expected meaning themselves.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

SV_DATA = Path(__file__).parent / "data" / "sv"


@dataclass(frozen=True)
class Record:
    """One VCF data line."""

    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]
    info: dict[str, str]

    def int_info(self, key: str) -> int | None:
        """An INFO value as an integer (the first of a list), None when absent."""
        value = self.info.get(key)
        return None if value in (None, "", ".") else int(value.split(",")[0])


def records(path: Path) -> list[Record]:
    """Every data line of a VCF (plain or gzip), blank lines left out."""
    opener = gzip.open if path.suffix == ".gz" else open
    found = []
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            columns = line.rstrip("\n").split("\t")
            info = dict(item.partition("=")[::2] for item in columns[7].split(";") if item and item != ".")
            alts = () if columns[4] == "." else tuple(columns[4].split(","))
            found.append(Record(columns[0], int(columns[1]), columns[2], columns[3], alts, info))
    return found
