"""Load benchmark: a generated 1,000,000-site bgzip VCF with 5 populations into the embedded store.

Prints cyvcf2's parse-only rate on the same file, the loader's conversion-only rate (one process),
and the full load rate (read + convert + store + index + switch) in one process and with one worker
per CPU, in alleles per second. Target: >= 100,000/s. The parallel load runs `--repeat` times
(default 3) and every run is printed: a shared virtual machine's speed varies from run to run.

`--store-uri mongodb://HOST/DATABASE` loads into MongoDB instead (the database is dropped first:
give the benchmark a database of its own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cyvcf2

from beacon.store.base import MetadataBatch, Store
from beacon.store.sqlite import SqliteStore
from benchmarks.synthetic_vcf import write_vcf
from loaders.variant_load import load_vcf_files
from loaders.vcf import LoadReport, VcfOptions, read_documents
from loaders.vcf_diagnosis import is_bgzf

MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


def parse_only(path: Path) -> tuple[int, float]:
    """(alleles, seconds) for cyvcf2 iterating the file and touching each record's ALT and INFO."""
    started = time.perf_counter()
    alleles = 0
    for variant in cyvcf2.VCF(str(path)):
        alleles += len(variant.ALT)
        variant.INFO.get("AC")
    return alleles, time.perf_counter() - started


# The inputs are synthetic or real files of either assembly: "GRCh38" only labels the benchmark's variants,
# so the header's assembly is not checked (`loaders.vcf_header`).
BENCHMARK_OPTIONS = VcfOptions(assembly="GRCh38", ignore_header_assembly=True)


def convert_only(path: Path) -> tuple[int, float]:
    """(documents, seconds) for reading and converting without a store."""
    started = time.perf_counter()
    count = sum(1 for _ in read_documents(path, BENCHMARK_OPTIONS, LoadReport()))
    return count, time.perf_counter() - started


def full_load(path: Path, store: Store, workers: int = 1) -> tuple[int, float]:
    """(variants, seconds) for `beacon load vcf` into a fresh store (closed afterwards)."""
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "bench", "name": "benchmark"}])
    store.put_metadata(batch)
    started = time.perf_counter()
    (report,) = load_vcf_files(store, [path], "bench", BENCHMARK_OPTIONS, workers=workers)
    elapsed = time.perf_counter() - started
    store.close()
    return report.loaded, elapsed


def fresh_sqlite_store(path: Path) -> SqliteStore:
    """An empty SQLite store at `path` (any previous file removed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return SqliteStore(path)


def fresh_mongo_store(uri: str) -> Store:
    """The MongoDB store of a URI, its database dropped first."""
    from beacon.store.mongo import MongoStore

    store = MongoStore.from_uri(uri)
    database = store.database()
    database.client.drop_database(database.name)
    return store


def mongo_size_mb(uri: str) -> float:
    """Data and index size of the benchmark database, in MB."""
    from beacon.store.mongo import MongoStore

    store = MongoStore.from_uri(uri)
    stats = store.database().command("dbStats")
    store.close()
    return (stats["storageSize"] + stats["indexSize"]) / 1e6


def run(sites: int, workdir: Path, store_uri: str | None = None, repeat: int = 3) -> None:
    """Generate, then measure and print the rates (into SQLite in workdir, or the MongoDB URI)."""
    vcf = workdir / f"synthetic_{sites}.vcf.gz"
    if not vcf.exists() or not is_bgzf(vcf):
        started = time.perf_counter()
        write_vcf(vcf, sites)
        print(f"generated {sites:,} sites in {time.perf_counter() - started:.1f} s ({vcf})")
    alleles, seconds = parse_only(vcf)
    print(f"cyvcf2 parse only : {alleles:>10,} alleles in {seconds:6.1f} s = {alleles / seconds:>9,.0f} alleles/s")
    documents, seconds = convert_only(vcf)
    print(f"read + convert    : {documents:>10,} alleles in {seconds:6.1f} s = {documents / seconds:>9,.0f} alleles/s")
    if store_uri is not None:
        loaded, seconds = full_load(vcf, fresh_mongo_store(store_uri))
        print(f"full load (Mongo) : {loaded:>10,} alleles in {seconds:6.1f} s = {loaded / seconds:>9,.0f} alleles/s")
        print(f"store size        : {mongo_size_mb(store_uri):,.0f} MB; target >= 100,000 alleles/s")
        return
    store_path = workdir / "load_benchmark.sqlite"
    loaded, seconds = full_load(vcf, fresh_sqlite_store(store_path))
    print(f"full load, 1 proc : {loaded:>10,} alleles in {seconds:6.1f} s = {loaded / seconds:>9,.0f} alleles/s")
    workers = len(os.sched_getaffinity(0))
    rates = []
    for attempt in range(1, repeat + 1):
        loaded, seconds = full_load(vcf, fresh_sqlite_store(store_path), workers=workers)
        rates.append(loaded / seconds)
        print(
            f"full load, {workers} workers, run {attempt}: {loaded:>10,} alleles in {seconds:6.1f} s"
            f" = {rates[-1]:>9,.0f} alleles/s"
        )
    print(f"parallel runs: median {statistics.median(rates):,.0f}, best {max(rates):,.0f}, worst {min(rates):,.0f}"
          " alleles/s; target >= 100,000")  # fmt: skip
    print(f"store size        : {store_path.stat().st_size / 1e6:,.0f} MB")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--store-uri", help="load into this MongoDB (mongodb://HOST/DATABASE, dropped first)")
    parser.add_argument("--repeat", type=int, default=3, help="parallel SQLite loads to run and print")
    arguments = parser.parse_args()
    if arguments.store_uri is not None and not arguments.store_uri.startswith(MONGO_SCHEMES):
        parser.error("--store-uri takes a mongodb:// URI (the SQLite store is written in --workdir)")
    if arguments.workdir:
        arguments.workdir.mkdir(parents=True, exist_ok=True)
        run(arguments.sites, arguments.workdir, arguments.store_uri, arguments.repeat)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            run(arguments.sites, Path(workdir), arguments.store_uri, arguments.repeat)


if __name__ == "__main__":
    main()
