"""Long structural variants among small ones: 1 Mb range counts through the store interface.

Builds a store of `--small` synthetic SNVs and `--svs` deletions spread over chromosomes 1-3, a third
of them longer than 1 Mb (up to 10 Mb), then times `--queries` random 1 Mb range counts (the
g_variants count path, no HTTP) and prints p50/p99 in milliseconds, checking each count against a
brute-force count of the generated spans. Target (issue 12): p99 <= 20 ms with 10M small variants
and 100k SVs: `python -m benchmarks.sv_range_benchmark --small 10000000 --svs 100000` (slow to build);
the defaults run in a minute.
"""

from __future__ import annotations

import argparse
import bisect
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from beacon.store.base import MetadataBatch, Store, VariantDocument, VariantQuery
from beacon.store.sqlite import SqliteStore

DATASET = "sv-bench"
CHROMOSOMES = ("1", "2", "3")
LENGTH = 200_000_000
MEGABASE = 1_000_000


def small_variants(count: int, seed: int) -> Iterator[VariantDocument]:
    """SNVs, sorted per chromosome (the order a VCF has)."""
    rng = random.Random(seed)
    per_chromosome = count // len(CHROMOSOMES)
    for chromosome in CHROMOSOMES:
        for start in sorted(rng.randrange(LENGTH) for _ in range(per_chromosome)):
            yield VariantDocument(
                f"GRCh38-{chromosome}-{start + 1}-A-G", "GRCh38", chromosome, start, start + 1, "A", "G",
                start, "A", "G", "SNP", 1,
            )  # fmt: skip


def structural_variants(count: int, seed: int) -> list[VariantDocument]:
    """Deletions, a third longer than 1 Mb."""
    rng = random.Random(seed + 1)
    found = []
    for number in range(count):
        chromosome = rng.choice(CHROMOSOMES)
        start = rng.randrange(LENGTH)
        length = rng.randrange(MEGABASE, 10 * MEGABASE) if number % 3 == 0 else rng.randrange(50, 100_000)
        found.append(VariantDocument(
            f"GRCh38-{chromosome}-{start + 1}-1-5-{number:020x}", "GRCh38", chromosome, start, start + length + 1,
            "N", "<DEL>", start, "N", "<DEL>", "DEL", length,
        ))  # fmt: skip
    return found


def build(store: Store, small: int, svs: list[VariantDocument], seed: int) -> None:
    """One load of everything, in chromosome and position order."""
    batch = MetadataBatch()
    batch.add("datasets", [{"id": DATASET}])
    store.put_metadata(batch)
    load = store.begin_variant_load(DATASET)
    by_chromosome = {c: sorted((d for d in svs if d.chromosome == c), key=lambda d: d.start) for c in CHROMOSOMES}
    pending: list[VariantDocument] = []
    for document in small_variants(small, seed):
        pending.append(document)
        if len(pending) >= 50_000:
            load.add(pending)
            pending = []
    load.add(pending)
    for documents in by_chromosome.values():
        load.add(documents)
    load.commit()


def main() -> None:
    """Build, query, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=300_000)
    parser.add_argument("--svs", type=int, default=3_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=12)
    arguments = parser.parse_args()
    svs = structural_variants(arguments.svs, arguments.seed)
    small_starts = {c: [] for c in CHROMOSOMES}
    for document in small_variants(arguments.small, arguments.seed):
        small_starts[document.chromosome].append(document.start)
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "sv.sqlite")
        began = time.perf_counter()
        build(store, arguments.small, svs, arguments.seed)
        print(f"built {arguments.small} SNVs + {arguments.svs} SVs in {time.perf_counter() - began:.1f} s")
        rng = random.Random(arguments.seed + 2)
        timings = []
        for _ in range(arguments.queries):
            chromosome, start = rng.choice(CHROMOSOMES), rng.randrange(LENGTH - MEGABASE)
            end = start + MEGABASE
            query = VariantQuery(dataset_id=DATASET, chromosome=chromosome, kind="range", start=start, end=end)
            began = time.perf_counter()
            found = store.count_variants(query)
            timings.append((time.perf_counter() - began) * 1000)
            starts = small_starts[chromosome]
            truth = bisect.bisect_left(starts, end) - bisect.bisect_left(starts, start)
            truth += sum(1 for d in svs if d.chromosome == chromosome and d.start < end and d.end > start)
            assert found == truth, (chromosome, start, found, truth)
        store.close()
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"1 Mb range count: p50 {statistics.median(timings):.2f} ms, p99 {p99:.2f} ms ({len(timings)} queries)")


if __name__ == "__main__":
    main()
