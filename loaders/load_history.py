"""The load history entry of one `beacon load vcf` run, kept by the store (`Store.record_load`).

An entry says when, what was asked (mode, assembly, case level, frequency source), and for each
file its size and sha256 checksum and what the load made of it (records, loaded, skipped by reason),
so a steward can tell later which file a dataset's variants came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loaders.vcf_types import LoadReport, VcfOptions

_CHUNK = 1 << 20


def file_facts(path: Path) -> dict[str, Any]:
    """The file's absolute path, size in bytes and sha256 checksum (read once, in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def vcf_load_entry(
    paths: Sequence[Path],
    reports: Sequence[LoadReport],
    options: VcfOptions,
    populations: Mapping[str, int | None],
    mode: str,
) -> dict[str, Any]:
    """The history entry of a finished VCF load (`mode`: how it changed the dataset, e.g. `replace`)."""
    files = []
    for path, report in zip(paths, reports, strict=True):
        counts = {"records": report.records, "alleles": report.alleles, "loaded": report.loaded}
        files.append({**file_facts(Path(path)), **counts, "skipped": dict(sorted(report.skipped.items()))})
    source = options.frequency_source()
    return {
        "kind": "vcf",
        "loadedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "assembly": options.assembly,
        "caseLevel": options.case_level,
        "frequencySource": None if source is None else source.to_json(),
        "populations": dict(populations),
        "files": files,
        "loaded": sum(report.loaded for report in reports),
        "skipped": sum(sum(report.skipped.values()) for report in reports),
    }
