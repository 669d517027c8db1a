"""Load VCF files into one dataset atomically: read -> convert -> batched store writes -> switch.

All files of one invocation go into one new dataset version (e.g. one VCF per chromosome); the
previous version keeps answering until `commit`, and any failure, Ctrl-C included, aborts the new
version so nothing half-loaded is ever visible.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from beacon.store.base import Store, VariantDocument
from loaders.vcf import LoadReport, VcfOptions, read_documents

DEFAULT_BATCH = 20_000


@dataclass
class LoadProgress:
    """Alleles written so far, for progress display; `total_records` is known when the VCF is indexed."""

    written: int = 0
    started: float = field(default_factory=time.monotonic)
    total_records: int | None = None

    @property
    def rate(self) -> float:
        """Alleles written per second so far."""
        elapsed = time.monotonic() - self.started
        return self.written / elapsed if elapsed > 0 else 0.0


ProgressCallback = Callable[[LoadProgress], None]


def load_vcf_files(
    store: Store,
    paths: Sequence[Path],
    dataset_id: str,
    options: VcfOptions,
    *,
    replace: bool = False,
    batch_size: int = DEFAULT_BATCH,
    on_progress: ProgressCallback | None = None,
) -> list[LoadReport]:
    """Load every file into a new version of the dataset and switch to it; returns one report per file."""
    progress = LoadProgress(total_records=count_indexed_records(paths))
    load = store.begin_variant_load(dataset_id, replace=replace)
    reports: list[LoadReport] = []
    # Millions of short-lived documents and no reference cycles: the cyclic collector only costs time
    # here (about a third of the load), so it is paused for the load and restored after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            report = LoadReport()
            _write_batches(load, read_documents(path, options, report), batch_size, progress, on_progress)
            reports.append(report)
        load.commit()
    except BaseException:
        load.abort()
        raise
    finally:
        if collecting:
            gc.enable()
    return reports


def _write_batches(
    load: object,
    documents: Iterable[VariantDocument],
    batch_size: int,
    progress: LoadProgress,
    on_progress: ProgressCallback | None,
) -> None:
    iterator = iter(documents)
    while batch := list(itertools.islice(iterator, batch_size)):
        progress.written += load.add(batch)  # type: ignore[attr-defined]
        if on_progress is not None:
            on_progress(progress)


def count_indexed_records(paths: Sequence[Path]) -> int | None:
    """Records in the files according to their .tbi/.csi indexes, or None if any file has none."""
    import cyvcf2

    total = 0
    for path in paths:
        if not any(Path(f"{path}{suffix}").exists() for suffix in (".tbi", ".csi")):
            return None
        try:
            total += cyvcf2.VCF(str(path)).num_records
        except Exception:  # no index, or not readable yet: the reader reports real errors
            return None
    return total
