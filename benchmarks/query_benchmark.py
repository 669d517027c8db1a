"""Query benchmark over HTTP: gunicorn (2 workers) serving stores of 1M and 10M synthetic variants.

For each store size it prints, measured with `wrk` on loopback (client and server share the machine's
2 cores, so these are lower bounds for a dedicated server):
- allele (sequence) queries at boolean and record granularity: requests/s and p50/p99 latency;
- 1 Mb range count queries: requests/s and p99;
- a trivial JSON endpoint of the same app (`/api/info`): the ceiling of the framework itself;
- resident memory (RSS) of each worker.
Targets: allele queries >= 1,000 req/s with p99 <= 20 ms; 1 Mb range count p99 <= 50 ms.

`--store-uri mongodb://HOST/PREFIX` serves MongoDB instead: each store size gets a database of its own
(`PREFIX_<sites>`, loaded on first use and reused afterwards), and the queries are sampled through
the store interface.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from beacon.store.base import MetadataBatch, Store, VariantQuery
from beacon.store.sqlite import SqliteStore
from benchmarks.synthetic_vcf import write_vcf
from loaders.variant_load import load_vcf_files
from loaders.vcf import VcfOptions

DATASET = "bench"
MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")
FIRST_POSITION = 10_000  # where benchmarks.synthetic_vcf starts; sites are 20.5 bases apart on average
POLICY = "default_level: CONTROLLED\nrare_alleles: {enabled: false}\ndatasets:\n  bench: {level: PUBLIC}\n"
WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def build_store(workdir: Path, sites: int) -> Path:
    """A store with `sites` synthetic sites (cached in workdir between runs)."""
    store_path = workdir / f"bench_{sites}.sqlite"
    if store_path.exists():
        return store_path
    vcf = workdir / f"synthetic_{sites}.vcf.gz"
    if not vcf.exists():
        write_vcf(vcf, sites)
    store = SqliteStore(store_path)
    load_into(store, vcf)
    store.close()
    return store_path


def sized_mongo_uri(base_uri: str, sites: int) -> str:
    """The URI of the database holding the store of one size: the base URI's database + `_<sites>`."""
    parts = urlsplit(base_uri)
    prefix = parts.path.strip("/") or "beacon_bench"
    return urlunsplit(parts._replace(path=f"/{prefix}_{sites}"))


def build_mongo_store(base_uri: str, workdir: Path, sites: int) -> str:
    """The URI of a MongoDB store with `sites` synthetic sites (loaded unless it already holds them)."""
    from beacon.store.mongo import MongoStore

    uri = sized_mongo_uri(base_uri, sites)
    store = MongoStore.from_uri(uri)
    try:
        if not store.list_datasets():
            vcf = workdir / f"synthetic_{sites}.vcf.gz"
            if not vcf.exists():
                write_vcf(vcf, sites)
            load_into(store, vcf)
    finally:
        store.close()
    return uri


def load_into(store: Store, vcf: Path) -> int:
    """Load a VCF into the benchmark dataset of an empty store; returns the variants loaded."""
    batch = MetadataBatch()
    batch.add("datasets", [{"id": DATASET, "name": "benchmark"}])
    store.put_metadata(batch)
    started = time.perf_counter()
    workers = len(os.sched_getaffinity(0))
    (report,) = load_vcf_files(store, [vcf], DATASET, VcfOptions(assembly="GRCh38"), workers=workers)
    print(f"  loaded {report.loaded:,} variants in {time.perf_counter() - started:.0f} s ({workers} workers)")
    return report.loaded


def sample_queries_from_store(
    store: Store, count: int, extent: tuple[str, int, int], seed: int = 7
) -> tuple[list[str], list[str], list[str]]:
    """(boolean allele paths, record allele paths, 1 Mb range count paths) sampled through the Store interface.

    `extent` is (chromosome, first start, last start) of the loaded variants; each allele query is the
    first variant at or after a random position, so any store can be sampled without reading it whole.
    """
    chromosome, first, last = extent
    rng = random.Random(seed)
    allele = []
    for _ in range(count * 3):
        position = rng.randrange(first, last + 1)
        window = VariantQuery(
            DATASET, chromosome=chromosome, kind="range", start=position, end=position + 2000, limit=1
        )
        found = store.find_variants(window)
        if found:
            variant = found[0]
            allele.append(
                f"/api/g_variants?referenceName={chromosome}&start={variant.start}"
                f"&referenceBases={variant.reference_bases}&alternateBases={variant.alternate_bases}"
            )
        if len(allele) == count:
            break
    ranges = []
    for _ in range(count):
        start = rng.randrange(first, max(first + 1, last - 1_000_000))
        ranges.append(f"/api/g_variants?referenceName={chromosome}&start={start}&end={start + 1_000_000}")
    return (
        allele,
        [f"{p}&requestedGranularity=record" for p in allele],
        [f"{p}&requestedGranularity=count" for p in ranges],
    )


def sample_queries(store_path: Path, count: int, seed: int = 7) -> tuple[list[str], list[str], list[str]]:
    """(boolean allele paths, record allele paths, 1 Mb range count paths) for random stored variants."""
    conn = sqlite3.connect(store_path)
    (version,) = conn.execute("SELECT version FROM variant_sets WHERE state = 'current'").fetchone()
    (maximum,) = conn.execute(f"SELECT max(rowid) FROM variants_{version}").fetchone()
    rng = random.Random(seed)
    rows = []
    for rowid in rng.sample(range(1, maximum + 1), count):
        rows.append(
            conn.execute(
                f"SELECT start, reference_bases, alternate_bases FROM variants_{version} WHERE rowid = ?", (rowid,)
            ).fetchone()
        )
    (last_start,) = conn.execute(f"SELECT max(start) FROM variants_{version}").fetchone()
    conn.close()
    allele = [f"/api/g_variants?referenceName=1&start={s}&referenceBases={r}&alternateBases={a}" for s, r, a in rows]
    ranges = []
    for _ in range(count):
        start = rng.randrange(0, max(1, last_start - 1_000_000))
        ranges.append(
            f"/api/g_variants?referenceName=1&start={start}&end={start + 1_000_000}&requestedGranularity=count"
        )
    return allele, [f"{p}&requestedGranularity=record" for p in allele], ranges


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(store_uri: str, workdir: Path, port: int) -> subprocess.Popen:
    """gunicorn with 2 sync workers serving the store; waits until it answers."""
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    env = {**os.environ, "BEACON_STORE_URI": store_uri, "BEACON_ACCESS_FILE": str(policy)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "beacon:create_app()",
        ],
        env=env,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def run_wrk(port: int, paths: list[str], workdir: Path, seconds: int, connections: int) -> dict[str, float]:
    """requests/s, p50 and p99 (ms) of wrk cycling through the paths."""
    path_file = workdir / "paths.txt"
    path_file.write_text("\n".join(paths) + "\n")
    script = workdir / "paths.lua"
    script.write_text(WRK_SCRIPT % path_file)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _latency_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99": _latency_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "errors": float("Non-2xx" in output),
    }


def _latency_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def worker_rss_mb(server: subprocess.Popen) -> list[float]:
    """Resident memory of each gunicorn worker (children of the master), in MB."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
    return sizes


def sample_any(store_uri: str, sites: int, count: int) -> tuple[list[str], list[str], list[str]]:
    """Queries for the store of a URI: read from the SQLite file, or sampled through the MongoDB store."""
    if not store_uri.startswith(MONGO_SCHEMES):
        return sample_queries(Path(store_uri.removeprefix("sqlite:///")), count)
    from beacon.store.mongo import MongoStore

    store = MongoStore.from_uri(store_uri)
    try:
        return sample_queries_from_store(store, count, ("1", FIRST_POSITION, FIRST_POSITION + int(20.5 * sites)))
    finally:
        store.close()


def measure(
    store_uri: str,
    sites: int,
    workdir: Path,
    seconds: int,
    connections: int,
    paths: tuple[list[str], list[str], list[str]] | None = None,
) -> dict[str, dict[str, float]]:
    """Every measurement for one store; `paths` (boolean, record, range) replaces the sampled queries."""
    boolean, record, ranges = paths if paths is not None else sample_any(store_uri, sites, 2000)
    port = free_port()
    server = start_server(store_uri, workdir, port)
    try:
        results = {
            "trivial /api/info": run_wrk(port, ["/api/info"], workdir, seconds, connections),
            "allele, boolean": run_wrk(port, boolean, workdir, seconds, connections),
            "allele, record": run_wrk(port, record, workdir, seconds, connections),
            "1 Mb range count": run_wrk(port, ranges, workdir, seconds, connections),
        }
        results["rss"] = {f"worker {i}": mb for i, mb in enumerate(worker_rss_mb(server), 1)}
    finally:
        server.terminate()
        server.wait(10)
    return results


def report(all_results: dict[int, dict[str, dict[str, float]]]) -> None:
    """Print the figures side by side for each store size."""
    sizes = sorted(all_results)
    print(f"\n{'query':<20}" + "".join(f"{f'{s:,} variants':>36}" for s in sizes))
    for name in ("trivial /api/info", "allele, boolean", "allele, record", "1 Mb range count"):
        cells = [all_results[s][name] for s in sizes]
        print(
            f"{name:<20}"
            + "".join(f"{c['rps']:>10,.0f} req/s p50 {c['p50']:5.1f} p99 {c['p99']:5.1f} ms" for c in cells)
        )
    for size in sizes:
        rss = ", ".join(f"{mb:.0f} MB" for mb in all_results[size]["rss"].values())
        print(f"worker RSS at {size:,} variants: {rss}")
    print("targets: allele >= 1,000 req/s with p99 <= 20 ms; 1 Mb range count p99 <= 50 ms")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated store sizes (sites)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-bench")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--store-uri", help="serve MongoDB: mongodb://HOST/PREFIX (one database per size)")
    arguments = parser.parse_args()
    if arguments.store_uri is not None and not arguments.store_uri.startswith(MONGO_SCHEMES):
        parser.error("--store-uri takes a mongodb:// URI (the SQLite stores are kept in --workdir)")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (make benchmark installs it)")
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    for size in (int(part) for part in arguments.sizes.split(",")):
        print(f"store with {size:,} sites")
        if arguments.store_uri is None:
            store_uri = f"sqlite:///{build_store(arguments.workdir, size)}"
        else:
            store_uri = build_mongo_store(arguments.store_uri, arguments.workdir, size)
        results[size] = measure(store_uri, size, arguments.workdir, arguments.seconds, arguments.connections)
    report(results)


if __name__ == "__main__":
    main()
