"""Load one VCF with several worker processes: chunks of records are converted and written in parallel.

`split_vcf` cuts the file into chunks of whole records (no index needed); each worker writes its
chunk's header and records to a scratch VCF, reads it with the ordinary reader and writes the
documents into a store part (`VariantLoad.part`); the loading process merges the parts in file order
(`VariantLoad.add_part`) while the workers go on, so variants end up exactly as a one-process load
leaves them. Conversion is most of a load's time and the GIL keeps it to one core per process.

A chunk's VcfError names a scratch file and chunk-local line numbers, so it is raised as a ChunkError
that the caller does not show: it aborts and loads again in one process, which reports the error
exactly (see `variant_load`).
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from beacon.store.base import VariantLoad, VariantPart
from beacon.store.processes import process_token, token_alive
from loaders.vcf import LoadReport, VcfError, VcfOptions, read_documents
from loaders.vcf_chunks import VcfChunk, VcfSplit, split_vcf, write_chunk
from loaders.vcf_diagnosis import missing_bgzf_end

MIN_CHUNK_BYTES = 4 << 20  # of file: smaller chunks cost more in merging and set-up than they save
TAIL_CHUNK_BYTES = 1 << 20  # the last chunks shrink to this, so that workers finish together
_PR_SET_PDEATHSIG = 1  # prctl(2)
CHUNKS_PER_WORKER = 4  # at most a quarter of a worker's share per chunk, before the shrinking tail
SCRATCH_PREFIX = "beacon-load-"  # + the loading process's token + "-" + a random part


class ChunkError(Exception):
    """A worker found bad input in its chunk; its VcfError (naming scratch files) is the cause."""


class WorkerError(RuntimeError):
    """A worker process died without reporting (killed, out of memory): the load is aborted."""


@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs to load one chunk (pickled to it)."""

    split: VcfSplit
    chunk: VcfChunk
    options: VcfOptions
    part: VariantPart
    scratch: str
    batch_size: int
    parent_pid: int


def load_file_in_parallel(
    load: VariantLoad,
    path: Path,
    options: VcfOptions,
    *,
    workers: int,
    batch_size: int,
    on_part: Callable[[int], None],
    chunk_bytes: int | None = None,
) -> LoadReport | None:
    """Load one file through `workers` processes; None (nothing written) when it cannot be split.

    `on_part` is called with the variant count of each part once merged. Files that cannot be cut
    (BCF, plain gzip, a single chunk's worth) and stores that take variants in one process give None.
    """
    split = _split(path, workers, chunk_bytes)
    if split is None or load.part(0) is None:
        return None
    report = LoadReport(path=str(path))
    # The pool shuts down (its workers done) before the scratch directory goes.
    with scratch_directory() as scratch, _worker_pool(workers) as pool:
        futures = [
            pool.submit(
                load_chunk,
                ChunkTask(split, chunk, options, load.part(chunk.index), scratch, batch_size, os.getpid()),  # type: ignore[arg-type]
            )
            for chunk in split.chunks
        ]
        _merge_in_order(load, split, futures, report, on_part)
    return report


def scratch_directory() -> tempfile.TemporaryDirectory[str]:
    """A new scratch directory in the temporary folder, named after this process (`remove_abandoned_scratch`)."""
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{process_token()}-")


def remove_abandoned_scratch(folder: Path | None = None) -> list[Path]:
    """Delete the scratch directories of loads whose process is gone; returns them.

    A killed load cannot delete its own (its workers die with it), so the next load does, as the
    store removes the part files of a dead load.
    """
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        token = path.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
        if path.is_dir() and token and token[0].isdigit() and not token_alive(token):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _worker_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context(_start_method())
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),))


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this worker when the loading process dies (Linux; elsewhere a no-op).

    A killed loading process cannot stop its workers, and an idle forked worker would wait forever
    on a task queue whose other end it holds itself. Their part files go with the abandoned load.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # it died before the line above took effect
        os._exit(1)


def _start_method() -> str:
    """`fork` (instant) when this process runs one thread, else `spawn` (a fresh interpreter).

    Forking a process with other threads can copy a lock one of them holds and deadlock the child.
    A forked worker never touches the store connections it inherits and leaves through os._exit,
    so it does not close them either.
    """
    return "fork" if threading.active_count() == 1 else "spawn"


def _split(path: Path, workers: int, chunk_bytes: int | None) -> VcfSplit | None:
    if workers < 2 or not path.is_file() or missing_bgzf_end(path):
        return None  # the one-process reader reports a missing or truncated file
    if chunk_bytes is not None:
        split = split_vcf(path, chunk_bytes)
    else:
        largest = max(MIN_CHUNK_BYTES, path.stat().st_size // (workers * CHUNKS_PER_WORKER))
        split = split_vcf(path, largest, min_bytes=TAIL_CHUNK_BYTES, workers=workers)
    return split if split is not None and len(split.chunks) > 1 else None


def _merge_in_order(
    load: VariantLoad,
    split: VcfSplit,
    futures: list[Future[LoadReport]],
    report: LoadReport,
    on_part: Callable[[int], None],
) -> None:
    try:
        for chunk, future in zip(split.chunks, futures, strict=True):
            _add_counts(report, future.result())
            on_part(load.add_part(load.part(chunk.index)))  # type: ignore[arg-type]
            report.parts += 1
    except VcfError as error:
        _cancel(futures)
        raise ChunkError(str(split.blocks.path)) from error
    except BrokenProcessPool as error:  # a worker was killed (by the kernel's out-of-memory killer, say)
        raise WorkerError(
            f"{split.blocks.path}: a loader worker process stopped unexpectedly ({error}); nothing was "
            "changed. Load again, with --workers 1 if memory is short."
        ) from None
    except BaseException:
        _cancel(futures)
        raise


def _cancel(futures: list[Future[LoadReport]]) -> None:
    for future in futures:
        future.cancel()  # the pool's shutdown then waits only for the chunks already running


def _add_counts(report: LoadReport, part: LoadReport) -> None:
    report.records += part.records
    report.alleles += part.alleles
    report.loaded += part.loaded
    report.contigs |= part.contigs
    for reason, count in part.skipped.items():
        report.skip(reason, count)


def load_chunk(task: ChunkTask) -> LoadReport:
    """In a worker: convert one chunk and write it into its part; returns the chunk's counts."""
    # As in the one-process load: millions of short-lived objects and no cycles.
    gc.disable()
    suffix = ".vcf.gz" if task.split.blocks.compressed else ".vcf"
    scratch = Path(task.scratch) / f"chunk-{task.chunk.index}{suffix}"
    write_chunk(task.split, task.chunk, scratch)
    report = LoadReport()
    writer = task.part.open()
    try:
        # No htslib decompression thread: the workers keep every core busy already.
        documents = read_documents(scratch, replace(task.options, decompression_threads=0), report)
        while batch := list(itertools.islice(documents, task.batch_size)):
            if os.getppid() != task.parent_pid:  # the loading process is gone: stop, leave nothing behind
                raise SystemExit(1)
            writer.add(batch)
    except BaseException:
        writer.discard()
        raise
    else:
        writer.close()
    finally:
        scratch.unlink(missing_ok=True)
        gc.enable()
    return report
