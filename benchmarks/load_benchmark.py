"""Load benchmark: a generated 1,000,000-site VCF with 5 populations into the embedded store.

Prints cyvcf2's parse-only rate on the same file, the loader's conversion-only rate, and the full
load rate (read + convert + store + index + switch), in alleles per second. Target: >= 100,000/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cyvcf2

from beacon.store.base import MetadataBatch
from beacon.store.sqlite import SqliteStore
from benchmarks.synthetic_vcf import write_vcf
from loaders.variant_load import load_vcf_files
from loaders.vcf import LoadReport, VcfOptions, read_documents


def parse_only(path: Path) -> tuple[int, float]:
    """(alleles, seconds) for cyvcf2 iterating the file and touching each record's ALT and INFO."""
    started = time.perf_counter()
    alleles = 0
    for variant in cyvcf2.VCF(str(path)):
        alleles += len(variant.ALT)
        variant.INFO.get("AC")
    return alleles, time.perf_counter() - started


def convert_only(path: Path) -> tuple[int, float]:
    """(documents, seconds) for reading and converting without a store."""
    started = time.perf_counter()
    count = sum(1 for _ in read_documents(path, VcfOptions(assembly="GRCh38"), LoadReport()))
    return count, time.perf_counter() - started


def full_load(path: Path, store_path: Path) -> tuple[int, float]:
    """(variants, seconds) for `beacon load vcf` into a fresh SQLite store."""
    store = SqliteStore(store_path)
    batch = MetadataBatch()
    batch.add("datasets", [{"id": "bench", "name": "benchmark"}])
    store.put_metadata(batch)
    started = time.perf_counter()
    (report,) = load_vcf_files(store, [path], "bench", VcfOptions(assembly="GRCh38"))
    elapsed = time.perf_counter() - started
    store.close()
    return report.loaded, elapsed


def run(sites: int, workdir: Path) -> None:
    """Generate, then measure and print the three rates."""
    vcf = workdir / f"synthetic_{sites}.vcf.gz"
    if not vcf.exists():
        started = time.perf_counter()
        write_vcf(vcf, sites)
        print(f"generated {sites:,} sites in {time.perf_counter() - started:.1f} s ({vcf})")
    alleles, seconds = parse_only(vcf)
    print(f"cyvcf2 parse only : {alleles:>10,} alleles in {seconds:6.1f} s = {alleles / seconds:>9,.0f} alleles/s")
    documents, seconds = convert_only(vcf)
    print(f"read + convert    : {documents:>10,} alleles in {seconds:6.1f} s = {documents / seconds:>9,.0f} alleles/s")
    store_path = workdir / "load_benchmark.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    loaded, seconds = full_load(vcf, store_path)
    print(f"full load (SQLite): {loaded:>10,} alleles in {seconds:6.1f} s = {loaded / seconds:>9,.0f} alleles/s")
    print(f"store size        : {store_path.stat().st_size / 1e6:,.0f} MB; target >= 100,000 alleles/s")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    arguments = parser.parse_args()
    if arguments.workdir:
        arguments.workdir.mkdir(parents=True, exist_ok=True)
        run(arguments.sites, arguments.workdir)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            run(arguments.sites, Path(workdir))


if __name__ == "__main__":
    main()
