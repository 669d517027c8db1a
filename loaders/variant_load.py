"""Load VCF files into one dataset atomically: read -> convert -> batched store writes -> switch.

All files of one invocation go into one new dataset version (e.g. one VCF per chromosome); the
previous version keeps answering until `commit`, and any failure, Ctrl-C included, aborts the new
version so nothing half-loaded is ever visible. The version keeps the frequency source a populations
map names (`VcfOptions.frequency_source`); a load without one names none, even with `--replace`.
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
from loaders.vcf_parallel import ChunkError, load_file_in_parallel, remove_abandoned_scratch

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
    workers: int = 1,
    chunk_bytes: int | None = None,
) -> list[LoadReport]:
    """Load every file into a new version of the dataset and switch to it; returns one report per file.

    With `workers` > 1, files that can be cut into chunks (bgzip or plain text VCF) are converted by
    that many processes (`vcf_parallel`); the result is the same as a one-process load. A bad record
    found by a worker aborts the load, which then runs again in one process to report the error with
    its real line number (chunk-local numbers would mislead) and to leave the store as it was. Scratch
    directories of killed parallel loads are deleted first (`vcf_parallel.remove_abandoned_scratch`).
    """
    try:
        return _load(store, paths, dataset_id, options, replace, batch_size, on_progress, workers, chunk_bytes)
    except ChunkError:
        pass  # the load was aborted: nothing of it is stored
    reports = _load(store, paths, dataset_id, options, replace, batch_size, on_progress, 1, None)
    for report in reports:
        report.rerun_in_one_process = True  # said, since the workers' speed was lost (and they disagreed)
    return reports


def _load(
    store: Store,
    paths: Sequence[Path],
    dataset_id: str,
    options: VcfOptions,
    replace: bool,
    batch_size: int,
    on_progress: ProgressCallback | None,
    workers: int,
    chunk_bytes: int | None,
) -> list[LoadReport]:
    progress = LoadProgress(total_records=count_indexed_records(paths))
    remove_abandoned_scratch()
    load = store.begin_variant_load(dataset_id, replace=replace, frequency_source=options.frequency_source())
    reports: list[LoadReport] = []
    # Millions of short-lived documents and no reference cycles: the cyclic collector only costs time
    # here (about a third of the load), so it is paused for the load and restored after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            report = load_file_in_parallel(
                load, path, options, workers=workers, batch_size=batch_size,
                on_part=_progress_counter(progress, on_progress), chunk_bytes=chunk_bytes,
            )  # fmt: skip
            if report is None:
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


def _progress_counter(progress: LoadProgress, on_progress: ProgressCallback | None) -> Callable[[int], None]:
    def count(written: int) -> None:
        progress.written += written
        if on_progress is not None:
            on_progress(progress)

    return count


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
