"""Lookup page benchmark: p50/p99 response time of the clinician's variant page (`/?q=1-POS-REF-ALT`) next
to the API request behind it (record granularity), over HTTP on gunicorn (2 workers), measured with `wrk`.

The page asks the API in-process (`beacon.web.api_call`): the difference of the two figures is what the page
adds (the /info and /datasets requests it makes, rendering, the SVG chart). The issue's figure is a store of
10M variants (`--sizes 10000000`, the default; the stores are built once and kept in --workdir).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from benchmarks.query_benchmark import build_store, free_port, run_wrk, sample_queries, start_server


def page_paths(api_paths: list[str]) -> list[str]:
    """The page URL a clinician would open for each sampled allele query (1-based position as typed)."""
    paths = []
    for api in api_paths:
        query = dict(part.split("=", 1) for part in api.split("?", 1)[1].split("&"))
        position = int(query["start"]) + 1
        typed = f"{query['referenceName']}-{position}-{query['referenceBases']}-{query['alternateBases']}"
        paths.append(f"/?q={quote(typed)}")
    return paths


def measure(sites: int, workdir: Path, seconds: int, connections: int) -> dict[str, dict[str, float]]:
    """The page and its API request for random stored variants of one store size."""
    store = build_store(workdir, sites)
    _boolean, record, _ranges = sample_queries(store, 2000)
    port = free_port()
    server = start_server(f"sqlite:///{store}", workdir, port)
    try:
        return {
            "variant page": run_wrk(port, page_paths(record), workdir, seconds, connections),
            "API, record": run_wrk(port, record, workdir, seconds, connections),
        }
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000000", help="comma-separated store sizes (sites)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-bench")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (make benchmark installs it)")
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    for size in (int(part) for part in arguments.sizes.split(",")):
        results = measure(size, arguments.workdir, arguments.seconds, arguments.connections)
        for name, figures in results.items():
            errors = " (non-2xx answers!)" if figures["errors"] else ""
            print(
                f"{size:>12,} variants  {name:<14} {figures['rps']:>8,.0f} req/s  "
                f"p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms{errors}"
            )


if __name__ == "__main__":
    main()
