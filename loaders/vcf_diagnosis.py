"""File-level checks and the diagnosis of records htslib rejects or silently blanks.

htslib reports a bad record as a bare exception and turns a non-numeric INFO value into
"missing", so the loader re-reads the raw text to say which line and field are wrong.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")


def is_bgzf(path: Path) -> bool:
    """True when the file starts with a BGZF block (bgzip-compressed VCF, or BCF)."""
    with path.open("rb") as handle:
        head = handle.read(18)
    return head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def missing_bgzf_end(path: Path) -> str | None:
    """Why a BGZF file looks truncated (no end-of-file block), or None when it does not."""
    # htslib only warns when the end-of-file block is missing and then loads a truncated file silently.
    if not is_bgzf(path):
        return None
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(size - len(_BGZF_EOF), 0))
        if handle.read() == _BGZF_EOF:
            return None
    return f"the file ends at byte {size:,} without the BGZF end-of-file block; it is probably truncated"


def compression_damage(path: Path) -> str | None:
    """Why a gzip-compressed file cannot be decompressed, or None when it can (or is not gzip)."""
    with path.open("rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return None
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except (EOFError, OSError) as error:
        return f"the compressed data is truncated or corrupt ({error})"
    return None


def header_line_count(path: Path) -> int | None:
    """Lines before the first record of a text VCF; None for BCF or unreadable files."""
    count = 0
    try:
        with _open_text(path) as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                count += 1
    except (OSError, EOFError, UnicodeError):
        return None
    return count if count else None


def diagnose_line(path: Path, line_number: int) -> tuple[str, str]:
    """(field, problem) for a record htslib rejected, from the raw text of its line."""
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if number == line_number:
                    field_name, problem = _diagnose_columns(line)
                    if not field_name:
                        for _ in handle:  # a damaged stream further on is the likelier cause
                            pass
                    return field_name, problem
        return "", "the file ends in the middle of a record"
    except (EOFError, OSError) as error:
        return "", f"the compressed data is truncated or corrupt ({error})"


def non_numeric_value(line: str, keys: Sequence[str], values: Sequence[Any]) -> tuple[str, str] | None:
    """(key, raw text) of the first INFO value htslib read as missing although it is not `.`."""
    raw = _raw_info(line)
    for key, value in zip(keys, values, strict=False):
        if value is None or (type(value) is tuple and None in value):
            text = raw.get(key)
            if any(part != "." and not _is_number(part) for part in (text or ".").split(",")):
                return key, text or ""
    return None


def _open_text(path: Path) -> Any:
    with path.open("rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _diagnose_columns(line: str) -> tuple[str, str]:
    columns = line.rstrip("\r\n").split("\t")
    if len(columns) < 8:
        return "columns", f"expected at least 8 tab-separated columns, found {len(columns)}"
    for name, value in zip(_COLUMNS, columns, strict=False):
        if not value:
            return name, "empty column"
    if not columns[1].isdigit():
        return "POS", f"{columns[1]!r} is not a position"
    return "", "htslib could not parse the record"


def _raw_info(line: str) -> dict[str, str]:
    columns = line.split("\t", 8)
    info = columns[7] if len(columns) > 7 else ""
    return dict(item.split("=", 1) for item in info.split(";") if "=" in item)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class RawLines:
    """Record lines of a text VCF read forward on demand: htslib turns junk numbers into `.`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: Any = None
        self.number = 0
        self.current: str | None = None

    def line(self, record_number: int) -> str | None:
        """The text of a record (1-based, at or after the last one asked for); None for BCF."""
        if self.handle is None:
            if header_line_count(self.path) is None:
                return None
            self.handle = _open_text(self.path)
        while self.number < record_number:
            self.current = next(self.handle, None)
            if self.current is None:
                return None
            if not self.current.startswith("#"):
                self.number += 1
        return self.current

    def close(self) -> None:
        """Close the text handle if one was opened."""
        if self.handle is not None:
            self.handle.close()
