"""Parallel VCF loads: worker processes and store parts give exactly what a one-process load gives.

Each real VCF is rewritten as BGZF of small blocks (and as plain text) so that even these small
files are cut into several chunks; the parallel load must then leave the store identical, row for
row (rowids, payloads, side tables, bins, variant-set statistics), to the one-process load of the
same file. Every parallel load is checked to have merged one part per chunk: a load that fell back
to one process would store the same rows and prove nothing. A bad record found by a worker is reported
exactly as the one-process loader reports it, and nothing of the failed load stays behind.
"""

from __future__ import annotations

import gzip
import os
import pickle
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from beacon.demo import DEMO_PANEL, DEMO_VCF
from beacon.store.base import MetadataBatch, VariantQuery
from beacon.store.sqlite import SqliteStore
from benchmarks.synthetic_vcf import header as synthetic_header
from loaders import vcf_chunks, vcf_parallel
from loaders.bgzf import MAX_BLOCK_DATA, write_bgzf
from loaders.variant_load import load_vcf_files
from loaders.vcf import SKIP_DUPLICATE, LoadReport, VcfError, VcfOptions, read_sample_panel
from loaders.vcf_chunks import split_vcf
from tests.store.conftest import open_mongomock

DATA = Path(__file__).resolve().parents[1] / "data" / "vcf"
DATASET = "parallel"
BLOCK = 4000  # bytes of data per BGZF block of the rewritten files: many blocks, many chunks
CHUNK_BYTES = 3 * 1024  # of compressed file per chunk


def demo_options() -> VcfOptions:
    panel = read_sample_panel(DEMO_PANEL, population_column="pop", sex_column="gender")
    return VcfOptions(assembly="GRCh37", sample_panel=panel, case_level=True)


# name: (file, options) -- genotypes with a panel and carriers; INFO frequencies with
# multi-allelic records; VEP annotations; ExAC's unsplit Number=A values (skipped records).
CASES = {
    "demo genotypes, panel and carriers": (DEMO_VCF, demo_options),
    "1000 Genomes INFO frequencies": (DATA / "test_1000G.vcf.gz", lambda: VcfOptions(assembly="GRCh37")),
    "VEP-annotated EGA set": (DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz", lambda: VcfOptions("GRCh38")),
    "ExAC per-population counts": (DATA / "exac.vcf.gz", lambda: VcfOptions(assembly="GRCh37")),
}


def new_store(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": DATASET, "name": "parallel load test"}])
    store.put_metadata(batch)
    return store


def as_bgzf(source: Path, destination: Path, block_size: int = BLOCK) -> Path:
    with gzip.open(source, "rb") as handle:
        return write_bgzf(destination, handle.read(), block_size=block_size)


def load(store_path: Path, vcf: Path, options: VcfOptions, workers: int, **extra: Any) -> LoadReport:
    store = new_store(store_path)
    try:
        (report,) = load_vcf_files(store, [vcf], DATASET, options, workers=workers, **extra)
    finally:
        store.close()
    return report


def stored_state(store_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the dataset's current variant tables, and its variant-set statistics."""
    with sqlite3.connect(store_path) as conn:
        (version,) = conn.execute("SELECT version FROM variant_sets WHERE state = 'current'").fetchone()
        table = f"variants_{version}"
        return {
            "variant_set": conn.execute(
                "SELECT assembly, variant_count, max_short_span, annotations FROM variant_sets WHERE version = ?",
                (version,),
            ).fetchall(),
            "variants": conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall(),
            "annotations": conn.execute(f"SELECT * FROM {table}_annotations ORDER BY 3, 1, 2").fetchall(),
            "carriers": conn.execute(f"SELECT * FROM {table}_carriers ORDER BY rowid_ref, biosample_id").fetchall(),
            "bins": conn.execute(f"SELECT * FROM {table}_bins ORDER BY chromosome, bin").fetchall(),
        }


def assert_merged_from_workers(report: LoadReport, vcf: Path, chunk_bytes: int) -> None:
    """The file was converted by workers, one part per chunk, all merged; no one-process rerun."""
    split = split_vcf(vcf, chunk_bytes)
    assert split is not None and len(split.chunks) > 1
    assert (report.parts, report.rerun_in_one_process) == (len(split.chunks), False)


def assert_nothing_loaded(store_path: Path) -> None:
    """The store holds no variants and no load left parts beside it."""
    store = SqliteStore(store_path)
    try:
        assert store.count_variants(VariantQuery(DATASET, kind="all")) == 0
        assert store.variant_assemblies() == set()
    finally:
        store.close()
    assert leftovers(store_path.parent) == []


def leftovers(directory: Path) -> list[Path]:
    """Part files of loads left in a store's directory."""
    return sorted(directory.glob("*.load-*.part-*"))


@pytest.mark.parametrize("layout", ["bgzf", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_parallel_load_stores_exactly_what_a_one_process_load_stores(
    case: str, layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, options = CASES[case]
    with gzip.open(source, "rb") as handle:
        text = handle.read()
    block = min(len(text) // 40, MAX_BLOCK_DATA)  # some 40 blocks (BGZF) or pieces (plain)
    if layout == "bgzf":
        vcf = write_bgzf(tmp_path / "input.vcf.gz", text, block_size=block)
    else:
        monkeypatch.setattr(vcf_chunks, "PLAIN_BLOCK", block)
        vcf = tmp_path / "input.vcf"
        vcf.write_bytes(text)
    chunk_bytes = vcf.stat().st_size // 8
    split = split_vcf(vcf, chunk_bytes)
    assert split is not None and len(split.chunks) >= 5  # or the parallel path would not be tested

    one = load(tmp_path / "one.sqlite", vcf, options(), workers=1)
    parallel = load(tmp_path / "parallel.sqlite", vcf, options(), workers=2, chunk_bytes=chunk_bytes)

    assert (parallel.records, parallel.alleles, parallel.loaded, parallel.skipped) == (
        one.records, one.alleles, one.loaded, one.skipped,
    )  # fmt: skip
    assert one.loaded > 0
    assert (one.parts, one.rerun_in_one_process) == (0, False)
    assert_merged_from_workers(parallel, vcf, chunk_bytes)
    expected = stored_state(tmp_path / "one.sqlite")
    assert stored_state(tmp_path / "parallel.sqlite") == expected
    assert leftovers(tmp_path) == []


def test_the_demo_file_as_shipped_loads_in_parallel_like_in_one_process(tmp_path: Path) -> None:
    # The bundled bgzip file with its own (64 KiB) blocks, cut at real block boundaries.
    assert len(split_vcf(DEMO_VCF, 64 * 1024).chunks) >= 3  # type: ignore[union-attr]
    one = load(tmp_path / "one.sqlite", DEMO_VCF, demo_options(), workers=1)
    parallel = load(tmp_path / "parallel.sqlite", DEMO_VCF, demo_options(), workers=2, chunk_bytes=64 * 1024)
    assert parallel.loaded == one.loaded > 0
    assert_merged_from_workers(parallel, DEMO_VCF, 64 * 1024)
    assert stored_state(tmp_path / "parallel.sqlite") == stored_state(tmp_path / "one.sqlite")
    store = SqliteStore(tmp_path / "parallel.sqlite")
    try:
        # Case-level data still points at the right variants after the parts' rowids were shifted.
        last = store.find_variants(VariantQuery(DATASET, kind="all", skip=0, limit=1000))[-1]
        assert store.variant_carriers(DATASET, last.variant_id) == sorted({b for b, _ in last.carriers})
    finally:
        store.close()


def test_records_repeating_a_position_are_never_split_between_workers(tmp_path: Path) -> None:
    # Duplicate alleles at one position are loaded once: a cut between two records of a position
    # would load them twice. Every position here has two to four records, repeating one allele.
    header = synthetic_header("1", 1_000_000)
    rng = random.Random(7)
    lines = []
    for position in range(10_000, 40_000, 10):
        ref, alt = "A", rng.choice("CGT")
        for _ in range(rng.randint(2, 4)):
            lines.append(f"1\t{position}\t.\t{ref}\t{alt}\t.\tPASS\tAC=3;AN=100\n")
    vcf = write_bgzf(tmp_path / "repeats.vcf.gz", (header + "".join(lines)).encode(), block_size=997)
    chunk_bytes = vcf.stat().st_size // 20
    assert len(split_vcf(vcf, chunk_bytes).chunks) >= 10  # type: ignore[union-attr]
    one = load(tmp_path / "one.sqlite", vcf, VcfOptions(assembly="GRCh38"), workers=1)
    parallel = load(
        tmp_path / "parallel.sqlite", vcf, VcfOptions(assembly="GRCh38"), workers=2, chunk_bytes=chunk_bytes
    )
    assert one.loaded == 3000 and parallel.loaded == 3000  # one variant per position
    assert parallel.skipped == one.skipped == {SKIP_DUPLICATE: len(lines) - 3000}
    assert_merged_from_workers(parallel, vcf, chunk_bytes)
    assert stored_state(tmp_path / "parallel.sqlite") == stored_state(tmp_path / "one.sqlite")


def bad_copy(tmp_path: Path, change: str) -> Path:
    """The 1000 Genomes test file as small-block BGZF, with its 900th record broken in one way."""
    with gzip.open(DATA / "test_1000G.vcf.gz", "rt") as handle:
        lines = handle.readlines()
    header = sum(line.startswith("#") for line in lines)
    columns = lines[header + 899].rstrip("\n").split("\t")
    if change == "POS":
        columns[1] = "12x4"
    else:  # an INFO number htslib silently reads as missing
        columns[7] = columns[7].replace("EUR_AF=", "EUR_AF=abc", 1)
    lines[header + 899] = "\t".join(columns) + "\n"
    return write_bgzf(tmp_path / f"bad-{change}.vcf.gz", "".join(lines).encode(), block_size=BLOCK)


@pytest.mark.parametrize("change", ["POS", "INFO"])
def test_a_bad_record_found_by_a_worker_is_reported_as_one_process_reports_it(change: str, tmp_path: Path) -> None:
    vcf = bad_copy(tmp_path, change)
    assert len(split_vcf(vcf, CHUNK_BYTES).chunks) >= 3  # type: ignore[union-attr]
    with pytest.raises(VcfError) as one:
        load(tmp_path / "one.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=1)
    with pytest.raises(VcfError) as parallel:
        load(tmp_path / "parallel.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    assert str(parallel.value) == str(one.value)
    assert str(vcf) in str(parallel.value) and "record 900" in str(parallel.value)
    assert_nothing_loaded(tmp_path / "parallel.sqlite")


def test_a_failed_parallel_reload_keeps_the_previous_variants(tmp_path: Path) -> None:
    good = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "good.vcf.gz")
    first = load(tmp_path / "store.sqlite", good, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    assert_merged_from_workers(first, good, CHUNK_BYTES)
    before = stored_state(tmp_path / "store.sqlite")
    store = SqliteStore(tmp_path / "store.sqlite")
    try:
        with pytest.raises(VcfError):
            load_vcf_files(
                store, [bad_copy(tmp_path, "POS")], DATASET, VcfOptions(assembly="GRCh37"),
                replace=True, workers=2, chunk_bytes=CHUNK_BYTES,
            )  # fmt: skip
        assert store.count_variants(VariantQuery(DATASET, kind="all")) == first.loaded
    finally:
        store.close()
    assert stored_state(tmp_path / "store.sqlite") == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_started_either_way_load_the_same(method: str, tmp_path: Path, monkeypatch) -> None:
    # fork when the loading process has one thread (the CLI), spawn otherwise (e.g. under a test runner).
    monkeypatch.setattr(vcf_parallel, "_start_method", lambda: method)
    vcf = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "input.vcf.gz")
    one = load(tmp_path / "one.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=1)
    parallel = load(tmp_path / "two.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    assert parallel.loaded == one.loaded > 0
    assert_merged_from_workers(parallel, vcf, CHUNK_BYTES)
    assert stored_state(tmp_path / "two.sqlite") == stored_state(tmp_path / "one.sqlite")


@pytest.mark.parametrize("order", ["cut file first", "uncut file first"])
def test_one_load_of_files_cut_and_not_cut_matches_a_one_process_load(order: str, tmp_path: Path) -> None:
    # One version from two files: parts merged for the one, batches added for the other.
    cut = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "cut.vcf.gz")
    uncut = DATA / "synthetic_usecases_4beacon_testingV4.vcf.gz"  # plain gzip: loaded in one process
    assert split_vcf(uncut, CHUNK_BYTES) is None
    files = [cut, uncut] if order == "cut file first" else [uncut, cut]
    mixed = VcfOptions(assembly="GRCh37", ignore_header_assembly=True)  # a GRCh37 and a GRCh38 file: only parts matter
    reports = {}
    for name, workers in (("one.sqlite", 1), ("two.sqlite", 2)):
        store = new_store(tmp_path / name)
        try:
            reports[name] = load_vcf_files(store, files, DATASET, mixed, workers=workers, chunk_bytes=CHUNK_BYTES)
        finally:
            store.close()
    cut_report, uncut_report = reports["two.sqlite"] if order == "cut file first" else reports["two.sqlite"][::-1]
    assert_merged_from_workers(cut_report, cut, CHUNK_BYTES)
    assert (uncut_report.parts, uncut_report.rerun_in_one_process) == (0, False)
    assert stored_state(tmp_path / "two.sqlite") == stored_state(tmp_path / "one.sqlite")


def test_files_that_cannot_be_cut_load_in_one_process(tmp_path: Path) -> None:
    # Plain gzip (not BGZF) has no block boundaries: the load still works, in one process.
    plain_gzip = tmp_path / "plain.vcf.gz"
    with gzip.open(DATA / "test_1000G.vcf.gz", "rb") as source, gzip.open(plain_gzip, "wb") as target:
        target.write(source.read())
    assert split_vcf(plain_gzip, CHUNK_BYTES) is None
    one = load(tmp_path / "one.sqlite", plain_gzip, VcfOptions(assembly="GRCh37"), workers=1)
    parallel = load(tmp_path / "two.sqlite", plain_gzip, VcfOptions(assembly="GRCh37"), workers=2)
    assert parallel.loaded == one.loaded > 0
    assert (parallel.parts, parallel.rerun_in_one_process) == (0, False)
    assert stored_state(tmp_path / "two.sqlite") == stored_state(tmp_path / "one.sqlite")


def test_a_store_without_parts_gets_the_variants_from_the_loading_process(tmp_path: Path) -> None:
    # MongoDB takes variants through add() only (its load keeps a lease and statistics).
    vcf = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "input.vcf.gz")
    store = open_mongomock("parallel")
    batch = MetadataBatch()
    batch.add("datasets", [{"id": DATASET, "name": "parallel load test"}])
    store.put_metadata(batch)
    load = store.begin_variant_load(DATASET)
    assert load.part(0) is None
    load.abort()
    (report,) = load_vcf_files(store, [vcf], DATASET, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    one = load_report(tmp_path, vcf)
    assert report.loaded == one.loaded > 0
    assert (report.parts, report.rerun_in_one_process) == (0, False)
    assert store.count_variants(VariantQuery(DATASET, kind="all")) == one.loaded


def load_report(tmp_path: Path, vcf: Path) -> LoadReport:
    return load(tmp_path / "one.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=1)


def dying_worker(task: vcf_parallel.ChunkTask) -> LoadReport:
    """A chunk loader whose worker dies on the second chunk, as if killed by the out-of-memory killer."""
    if task.chunk.index == 1:
        os._exit(9)
    return REAL_LOAD_CHUNK(task)


REAL_LOAD_CHUNK = vcf_parallel.load_chunk


def test_a_worker_that_dies_aborts_the_load_with_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(vcf_parallel, "_start_method", lambda: "fork")  # the child sees the patched function
    monkeypatch.setattr(vcf_parallel, "load_chunk", dying_worker)
    vcf = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "input.vcf.gz")
    with pytest.raises(vcf_parallel.WorkerError, match="a loader worker process stopped unexpectedly") as failure:
        load(tmp_path / "store.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    assert str(vcf) in str(failure.value)
    assert_nothing_loaded(tmp_path / "store.sqlite")


def worker_seeing_bad_input(task: vcf_parallel.ChunkTask) -> LoadReport:
    """A chunk loader whose second chunk fails with a VcfError that one process does not find."""
    if task.chunk.index == 1:
        raise VcfError(str(task.split.blocks.path), "a worker-only failure", where="record 1")
    return REAL_LOAD_CHUNK(task)


def test_a_load_whose_worker_failed_reports_its_one_process_rerun(tmp_path: Path, monkeypatch) -> None:
    # The check every test above makes of its parallel load (one part per chunk, no rerun) fails here:
    # the rows are the same, but the workers' load was dropped and the file read again in one process.
    monkeypatch.setattr(vcf_parallel, "_start_method", lambda: "fork")  # the child sees the patched function
    monkeypatch.setattr(vcf_parallel, "load_chunk", worker_seeing_bad_input)
    vcf = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "input.vcf.gz")
    one = load(tmp_path / "one.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=1)
    rerun = load(tmp_path / "two.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    assert (rerun.parts, rerun.rerun_in_one_process) == (0, True)
    with pytest.raises(AssertionError):
        assert_merged_from_workers(rerun, vcf, CHUNK_BYTES)
    assert "  loaded again in one process: a worker process failed" in rerun.lines()
    assert stored_state(tmp_path / "two.sqlite") == stored_state(tmp_path / "one.sqlite")
    assert rerun.loaded == one.loaded > 0
    assert leftovers(tmp_path) == []


def test_the_report_says_how_many_parts_workers_converted(tmp_path: Path) -> None:
    vcf = as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "input.vcf.gz")
    chunks = len(split_vcf(vcf, CHUNK_BYTES).chunks)  # type: ignore[union-attr]
    parallel = load(tmp_path / "two.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=2, chunk_bytes=CHUNK_BYTES)
    assert f"  converted by worker processes in {chunks} parts, merged in file order" in parallel.lines()
    one = load(tmp_path / "one.sqlite", vcf, VcfOptions(assembly="GRCh37"), workers=1)
    assert not any("worker" in line for line in one.lines())


def test_vcf_errors_cross_process_boundaries_intact() -> None:
    error = VcfError("/data/x.vcf.gz", "'abc' is not a number", where="record 9 (line 40, 22:100)", field_name="AC")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.path, copy.problem, copy.where, copy.field_name) == (
        str(error), error.path, error.problem, error.where, error.field_name,
    )  # fmt: skip


def test_an_add_merged_from_worker_parts_answers_like_one_load(tmp_path: Path) -> None:
    # The second half of a chromosome added in parts moves into the table of the first half at the switch.
    with gzip.open(DATA / "test_1000G.vcf.gz", "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    header = [line for line in lines if line.startswith(b"#")]
    records = [line for line in lines if not line.startswith(b"#")]
    halves = [
        write_bgzf(tmp_path / f"half{i}.vcf.gz", b"".join(header + part), block_size=BLOCK)
        for i, part in enumerate((records[:500], records[500:]))
    ]
    options = VcfOptions(assembly="GRCh37")
    whole = load(tmp_path / "whole.sqlite", as_bgzf(DATA / "test_1000G.vcf.gz", tmp_path / "all.vcf.gz"), options, 1)
    load(tmp_path / "added.sqlite", halves[0], options, workers=1)
    store = SqliteStore(tmp_path / "added.sqlite")
    try:
        (second,) = load_vcf_files(store, [halves[1]], DATASET, options, workers=2, chunk_bytes=CHUNK_BYTES, mode="add")
        assert_merged_from_workers(second, halves[1], CHUNK_BYTES)
    finally:
        store.close()
    answers = []
    for name in ("whole.sqlite", "added.sqlite"):
        reader = SqliteStore(tmp_path / name, access="read")
        try:
            everything = reader.find_variants(VariantQuery(DATASET, kind="all", limit=5000))
            windows = [
                reader.count_variants(VariantQuery(DATASET, chromosome="1", kind="range", start=s, end=s + 5_000_000))
                for s in range(0, 250_000_000, 5_000_000)
            ]
            answers.append((everything, windows))
        finally:
            reader.close()
    assert len(answers[0][0]) == whole.loaded
    assert answers[0] == answers[1]
