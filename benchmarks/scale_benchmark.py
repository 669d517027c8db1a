"""National scale benchmark: a synthetic call set as 22 per-chromosome VCFs, loaded one by one with `--add`.

Writes 22 bgzip VCFs (chromosomes 1-22, GRCh38 contig lengths, five populations with AC/AN/AF INFO
fields as `benchmarks.synthetic_vcf` writes them, the same number of sites in each file so the load
rates compare), then loads them into one dataset with the real CLI, `beacon load vcf FILE --add`, one
process per file as a steward would. It prints:
- the load rate of each file (variants/s, wall time of the CLI) and the last file's against the first
  (target: within 20 %, i.e. the rate does not degrade as the store grows);
- allele (boolean, record) and 1 Mb range count queries over HTTP at the final size (wrk, gunicorn
  with 2 workers, as `benchmarks.query_benchmark`): req/s and p99 (targets: >= 1,000 req/s, p99 <= 20 ms);
- store bytes per variant (target <= 150 B) and the RSS of each worker (target <= 150 MB).
Target size: 100 million variants (`--variants 100000000`, the default: hours, and about 20 GB of
disk); `--variants 2000000` checks the whole run in minutes. Not run in CI.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from beacon.store.sqlite import SqliteStore
from benchmarks.query_benchmark import DATASET, measure, sample_queries_from_store
from benchmarks.synthetic_vcf import header, record
from loaders.bgzf import BgzfWriter

# GRCh38 primary assembly lengths of chromosomes 1-22 (the header's contig lines must match them).
GRCH38_LENGTHS = (
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636, 138394717,
    133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345, 83257441, 80373285,
    58617616, 64444167, 46709983, 50818468,
)  # fmt: skip
ALLELES_PER_SITE = 1.03  # synthetic_vcf: 3 % of the sites have two ALTs
EDGE = 10_000  # bases left free at both ends of each chromosome


def write_chromosome(path: Path, chromosome: int, sites: int) -> Path:
    """`sites` records spread over the chromosome (positions ascending, never past its length)."""
    length = GRCH38_LENGTHS[chromosome - 1]
    rng = random.Random(chromosome)
    step = max(2, (length - 2 * EDGE) // sites)
    position = EDGE
    with BgzfWriter(path, level=1) as writer:
        writer.write(header(str(chromosome), length, "GRCh38").encode())
        lines = []
        for _ in range(sites):
            position += rng.randint(1, 2 * step - 1)
            lines.append(record(rng, str(chromosome), min(position, length - EDGE)))
            position = min(position, length - EDGE)
            if len(lines) == 10_000:
                writer.write("".join(lines).encode())
                lines.clear()
        writer.write("".join(lines).encode())
    return path


def write_call_set(workdir: Path, variants: int) -> list[Path]:
    """The 22 files (kept in workdir between runs of the same size), written by one process per CPU."""
    sites = max(1, round(variants / ALLELES_PER_SITE / 22))
    paths = [workdir / f"scale_{variants}_chr{chromosome}.vcf.gz" for chromosome in range(1, 23)]
    missing = [(path, chromosome) for chromosome, path in enumerate(paths, 1) if not path.exists()]
    with ProcessPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        for _ in pool.map(_write_file, missing, [sites] * len(missing)):
            pass
    return paths


def _write_file(target: tuple[Path, int], sites: int) -> None:
    path, chromosome = target
    write_chromosome(path.with_suffix(".tmp"), chromosome, sites)
    path.with_suffix(".tmp").rename(path)  # a file is complete or absent, even after Ctrl-C


def beacon(store_uri: str, *arguments: str) -> str:
    """Run the real CLI; its stdout (exits on failure)."""
    command = [str(Path(sys.executable).with_name("beacon")), *arguments, "--store", store_uri]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed: {result.stderr.strip()}")
    return result.stdout


def load_all(store_uri: str, workdir: Path, files: list[Path], workers: int | None) -> list[tuple[int, float, float]]:
    """Load every file with `--add`; (variants loaded, seconds, CPU seconds) per file, printed as they go.

    CPU seconds (of the CLI and its workers) tell a load that does more work from one that waited for
    a core: on a shared machine the wall time alone mixes both.
    """
    datasets = workdir / "datasets.json"
    datasets.write_text(f'[{{"id": "{DATASET}", "name": "national scale benchmark"}}]')
    beacon(store_uri, "load", "metadata", str(datasets))
    rates = []
    options = ["--workers", str(workers)] if workers else []
    for index, path in enumerate(files, 1):
        started, cpu = time.perf_counter(), _children_cpu()
        output = beacon(store_uri, "load", "vcf", str(path), "--add", "--dataset", DATASET, "--assembly", "GRCh38",
                        *options)  # fmt: skip
        seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
        loaded = int(re.search(r"([\d,]+) variant\(s\) loaded", output).group(1).replace(",", ""))
        rates.append((loaded, seconds, cpu))
        print(f"  file {index:2}: {loaded:>11,} variants in {seconds:7.1f} s = {loaded / seconds:>9,.0f}/s;"
              f" {cpu:7.1f} CPU s = {loaded / cpu:>9,.0f}/CPU s", flush=True)  # fmt: skip
    return rates


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample_paths(store_path: Path, files: int, count: int) -> tuple[list[str], list[str], list[str]]:
    """Allele and range query paths spread over the chromosomes (through the store interface)."""
    store = SqliteStore(store_path, access="read")
    boolean, record_paths, ranges = [], [], []
    try:
        per_chromosome = max(1, count // files)
        for chromosome in range(1, files + 1):
            extent = (str(chromosome), EDGE, GRCH38_LENGTHS[chromosome - 1] - EDGE)
            b, r, g = sample_queries_from_store(store, per_chromosome, extent, seed=chromosome)
            boolean, record_paths, ranges = boolean + b, record_paths + r, ranges + g
    finally:
        store.close()
    rng = random.Random(3)
    for paths in (boolean, record_paths, ranges):
        rng.shuffle(paths)
    return boolean, record_paths, ranges


def report(rates: list[tuple[int, float, float]], store_path: Path, results: dict[str, dict[str, float]]) -> None:
    """Print the figures next to their targets."""
    total = sum(loaded for loaded, _, _ in rates)
    print(f"\nvariants loaded: {total:,} in {len(rates)} files, {sum(s for _, s, _ in rates):,.0f} s in all")
    for name, at in (("wall", 1), ("CPU", 2)):
        first, last = (rate[0] / rate[at] for rate in (rates[0], rates[-1]))
        print(f"load rate ({name} time): first file {first:,.0f}/s, last file {last:,.0f}/s: "
              f"last/first = {last / first:.2f} (target >= 0.80)")  # fmt: skip
    size = store_path.stat().st_size
    print(f"store: {size / 1e6:,.1f} MB = {size / total:.0f} bytes per variant (target <= 150 B)")
    for name in ("allele, boolean", "allele, record", "1 Mb range count"):
        cell = results[name]
        print(f"{name:<18} {cell['rps']:>8,.0f} req/s  p50 {cell['p50']:5.1f} ms  p99 {cell['p99']:5.1f} ms")
    print("targets: allele >= 1,000 req/s with p99 <= 20 ms; 1 Mb range count p99 <= 50 ms")
    rss = ", ".join(f"{mb:.0f} MB" for mb in results["rss"].values())
    print(f"worker RSS: {rss} (target <= 150 MB each)")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", type=int, default=100_000_000, help="size of the call set (all files)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-scale")
    parser.add_argument("--workers", type=int, help="loader processes per file (default: one per CPU)")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=16)
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (make benchmark installs it)")
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    print(f"writing 22 VCFs of {arguments.variants:,} variants in all to {arguments.workdir}", flush=True)
    files = write_call_set(arguments.workdir, arguments.variants)
    store_path = arguments.workdir / f"scale_{arguments.variants}.sqlite"
    for leftover in arguments.workdir.glob(f"{store_path.name}*"):
        leftover.unlink()  # every run loads afresh: the rates are the point
    store_uri = f"sqlite:///{store_path}"
    print("loading them one by one with `beacon load vcf FILE --add`", flush=True)
    rates = load_all(store_uri, arguments.workdir, files, arguments.workers)
    paths = sample_paths(store_path, len(files), 2000)
    results = measure(store_uri, 0, arguments.workdir, arguments.seconds, arguments.connections, paths)
    report(rates, store_path, results)


if __name__ == "__main__":
    main()
