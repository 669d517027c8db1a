"""Load VCF files into one dataset atomically: read -> convert -> batched store writes -> switch.

All files of one invocation go into one new dataset version (e.g. one VCF per chromosome); the
previous version keeps answering until `commit`, and any failure, Ctrl-C included, aborts the new
version so nothing half-loaded is ever visible. The new version holds the input only, or adds it to
the current variants, or replaces the current variants of its chromosomes (`LoadMode`, `--add`,
`--replace-contigs`). Before the switch, a load that loaded nothing and one whose files repeat a
variant are refused (`LoadRefused`). The version keeps the frequency source a populations
map names (`VcfOptions.frequency_source`); a load without one names none, even with `--replace`.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from beacon.genome import parse_variant_id
from beacon.store.base import DuplicateVariantsError, LoadMode, Store, VariantDocument, VariantLoad
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


class LoadRefused(Exception):
    """A load refused by the checks before its switch (nothing loaded, variants repeated across files).

    The dataset is unchanged; the message names the files.
    """


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
    mode: LoadMode | None = None,
) -> list[LoadReport]:
    """Load every file into a new version of the dataset and switch to it; returns one report per file.

    `mode` (`LoadMode`; default `new`, or `replace` when `replace` is true) says what the new version
    keeps of the current one. LoadRefused when nothing was loaded or two files hold the same variant.

    With `workers` > 1, files that can be cut into chunks (bgzip or plain text VCF) are converted by
    that many processes (`vcf_parallel`); the result is the same as a one-process load. A bad record
    found by a worker aborts the load, which then runs again in one process to report the error with
    its real line number (chunk-local numbers would mislead) and to leave the store as it was. Scratch
    directories of killed parallel loads are deleted first (`vcf_parallel.remove_abandoned_scratch`).
    """
    load_mode: LoadMode = "replace" if replace else (mode or "new")
    try:
        return _load(store, paths, dataset_id, options, load_mode, batch_size, on_progress, workers, chunk_bytes)
    except ChunkError:
        pass  # the load was aborted: nothing of it is stored
    reports = _load(store, paths, dataset_id, options, load_mode, batch_size, on_progress, 1, None)
    for report in reports:
        report.rerun_in_one_process = True  # said, since the workers' speed was lost (and they disagreed)
    return reports


def _load(
    store: Store,
    paths: Sequence[Path],
    dataset_id: str,
    options: VcfOptions,
    mode: LoadMode,
    batch_size: int,
    on_progress: ProgressCallback | None,
    workers: int,
    chunk_bytes: int | None,
) -> list[LoadReport]:
    progress = LoadProgress(total_records=count_indexed_records(paths))
    remove_abandoned_scratch()
    load = store.begin_variant_load(dataset_id, mode=mode, frequency_source=options.frequency_source())
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
        check_before_switch(load, reports)
        load.commit()
    except BaseException:
        load.abort()
        raise
    finally:
        if collecting:
            gc.enable()
    return reports


def check_before_switch(load: VariantLoad, reports: Sequence[LoadReport]) -> None:
    """LoadRefused when the files loaded no variant, or when two of them hold the same variant."""
    if not sum(report.loaded for report in reports):
        raise LoadRefused(f"nothing was loaded: {_nothing_loaded(reports)}; the dataset was not changed")
    shared = [contig for contig, files in Counter(c for r in reports for c in r.contigs).items() if files > 1]
    if not shared:
        return  # files on different chromosomes cannot repeat a variant (and one file repeats none)
    try:
        load.duplicates(shared)
    except DuplicateVariantsError as error:
        files = " and ".join(_files_holding(error, reports))
        raise LoadRefused(
            f"{files} hold the same variants: {error}; nothing was loaded. Load each variant from one file "
            "(one record per allele in one dataset)"
        ) from None


def _nothing_loaded(reports: Sequence[LoadReport]) -> str:
    alleles = sum(report.alleles for report in reports)
    skipped: Counter[str] = Counter()
    for report in reports:
        skipped.update(report.skipped)
    reasons = ", ".join(f"skipped {count}: {reason}" for reason, count in sorted(skipped.items()))
    files = ", ".join(report.path for report in reports)
    return f"{files}: 0 variant(s) of {alleles} ALT allele(s) read" + (f" ({reasons})" if reasons else "")


def _files_holding(error: DuplicateVariantsError, reports: Sequence[LoadReport]) -> list[str]:
    """The files the first repeated variant came from: by its places in the load, else by chromosome."""
    if error.ordinals is not None:
        ends = list(itertools.accumulate(report.loaded for report in reports))
        return [next(r.path for r, end in zip(reports, ends, strict=True) if place <= end) for place in error.ordinals]
    location = parse_variant_id(error.examples[0]) if error.examples else None
    chromosome = location[0] if location else None
    return [report.path for report in reports if chromosome in report.contigs]


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
