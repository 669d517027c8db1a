"""MongoDB benchmark for a server owner: load and query a national-node-sized store through the beacon's store.

    python -m benchmarks.mongo_benchmark mongodb://HOST:27017/beacon_bench?replicaSet=rs0
        [--individuals 1000000] [--variants 10000000] [--queries 200] [--keep]

The database named in the URI is DROPPED first (use a scratch database) and, unless `--keep`, after.
It loads synthetic data with the same code paths as `beacon load`: one dataset of N individuals and N
biosamples (every individual one biosample; sex and a disease from small term sets, an age), then V
SNVs on chromosome 1 (one every 20 bases, 1 in 50 with a gene id) in one atomic variant load. It
prints one line per figure:

- load rates: metadata records/s and variants/s (writes with `w: majority, j: true`);
- `/filtering_terms`: what the endpoint asks the store (`filtering_terms_of` over the dataset), seconds;
- filtered counts: individuals with one ontology term, and with an alphanumeric range (`age>50`), p50/p99;
- allele (sequence) and 1 Mb range counts on the variants, p50/p99, and record pages of 10 by gene.

Nothing here has been run against a real MongoDB server by the team; `--mongomock` runs a tiny version on
the in-memory stand-in (tests/store/test_mongo_benchmarks.py) to keep the script working.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from beacon.store.base import MetadataBatch, RecordQuery, TermCondition, ValueCondition, VariantDocument, VariantQuery
from beacon.store.mongo import MongoStore

DATASET = "bench"
SEXES = ({"id": "NCIT:C16576", "label": "female"}, {"id": "NCIT:C20197", "label": "male"})
DISEASES = tuple({"id": f"ICD10:C{number:02d}", "label": f"cancer {number}"} for number in range(50))
METADATA_BATCH = 50_000
VARIANT_BATCH = 50_000
SPACING = 20  # bases between two synthetic SNVs


def individual(number: int) -> dict[str, Any]:
    """The synthetic individual `number` (deterministic)."""
    return {
        "id": f"ind{number}",
        "datasetId": DATASET,
        "sex": SEXES[number % 2],
        "diseases": [{"diseaseCode": DISEASES[number % len(DISEASES)]}],
        "info": {"age": number % 100},
    }


def biosample(number: int) -> dict[str, Any]:
    """The biosample of individual `number`."""
    return {"id": f"bio{number}", "datasetId": DATASET, "individualId": f"ind{number}"}


def snv(number: int) -> VariantDocument:
    """The synthetic SNV `number` on chromosome 1 (A>G every SPACING bases; 1 in 50 in a gene)."""
    position = 10_000 + number * SPACING
    return VariantDocument(
        variant_id=f"GRCh38-1-{position}-A-G",
        assembly="GRCh38",
        chromosome="1",
        start=position - 1,
        end=position,
        reference_bases="A",
        alternate_bases="G",
        norm_start=position - 1,
        norm_ref="A",
        norm_alt="G",
        variant_type="SNP",
        length=1,
        gene_ids=(f"GENE{number // 50}",) if number % 50 == 0 else (),
    )


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds the action took, and its result."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def load(store: MongoStore, individuals: int, variants: int) -> Iterator[str]:
    """Load the synthetic dataset; yields the load-rate lines."""
    store.put_metadata(MetadataBatch({"datasets": [{"id": DATASET, "name": "benchmark"}]}))
    started = time.perf_counter()
    for first in range(0, individuals, METADATA_BATCH):
        numbers = range(first, min(first + METADATA_BATCH, individuals))
        batch = {"individuals": [individual(n) for n in numbers], "biosamples": [biosample(n) for n in numbers]}
        store.put_metadata(MetadataBatch(batch))
    seconds = time.perf_counter() - started
    yield f"metadata load: {2 * individuals} records in {seconds:.1f} s = {2 * individuals / seconds:,.0f} records/s"
    variant_load = store.begin_variant_load(DATASET)
    started = time.perf_counter()
    try:
        for first in range(0, variants, VARIANT_BATCH):
            variant_load.add(snv(n) for n in range(first, min(first + VARIANT_BATCH, variants)))
        variant_load.commit()
    except BaseException:
        variant_load.abort()
        raise
    seconds = time.perf_counter() - started
    yield f"variant load: {variants} variants in {seconds:.1f} s = {variants / seconds:,.0f} variants/s"


def percentiles(name: str, samples: list[float]) -> str:
    """`name: p50 … ms, p99 … ms (n samples)`."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name}: p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms ({len(ordered)} queries)"


def queries(store: MongoStore, individuals: int, variants: int, count: int) -> Iterator[str]:
    """Run the query mix; yields one line per figure (and the answers, so that a wrong store shows)."""
    from beacon.query.filtering import filtering_terms_of

    seconds, (terms, _resources) = timed(lambda: filtering_terms_of(store, dataset_ids=[DATASET]))
    yield f"/filtering_terms: {len(terms)} terms and fields in {seconds * 1000:.1f} ms"
    rng = random.Random(7)
    mixes: dict[str, Callable[[], Any]] = {
        "count by ontology term": lambda: store.count_records(
            RecordQuery("individuals", DATASET, conditions=(TermCondition(frozenset({rng.choice(DISEASES)["id"]})),))
        ),
        "count by age>50": lambda: store.count_records(
            RecordQuery("individuals", DATASET, conditions=(ValueCondition("info.age", ">", 50.0),))
        ),
        "allele count": lambda: store.count_variants(_allele(rng.randrange(variants))),
        "1 Mb range count": lambda: store.count_variants(_range(rng.randrange(variants))),
        "gene record page": lambda: store.find_variants(
            VariantQuery(DATASET, kind="gene", gene_id=f"GENE{rng.randrange(max(1, variants // 2500))}", limit=10)
        ),
    }
    for name, query in mixes.items():
        samples, answers = [], []
        for _ in range(count):
            seconds, answer = timed(query)
            samples.append(seconds)
            answers.append(answer if isinstance(answer, int) else len(answer))
        yield percentiles(name, samples) + f"; answers {min(answers)}..{max(answers)}"


def _allele(number: int) -> VariantQuery:
    position = 10_000 + number * SPACING
    return VariantQuery(
        DATASET, kind="sequence", chromosome="1", start=position - 1, norm_start=position - 1, norm_ref="A",
        norm_alt="G", reference_bases="A", alternate_bases="G",
    )  # fmt: skip


def _range(number: int) -> VariantQuery:
    start = 10_000 + number * SPACING
    return VariantQuery(DATASET, kind="range", chromosome="1", start=start, end=start + 1_000_000)


def run(store: MongoStore, individuals: int, variants: int, count: int) -> list[str]:
    """Load, then query; the lines to print."""
    return [*load(store, individuals, variants), *queries(store, individuals, variants, count)]


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("uri", help="mongodb://HOST/DATABASE of a scratch database (dropped first)")
    parser.add_argument("--individuals", type=int, default=1_000_000)
    parser.add_argument("--variants", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--mongomock", action="store_true", help="the in-memory stand-in (a smoke run only)")
    args = parser.parse_args(argv)
    store = _open(args.uri, args.mongomock)
    store.database().client.drop_database(store.database().name)
    try:
        for line in run(store, args.individuals, args.variants, args.queries):
            print(line, flush=True)
    finally:
        if not args.keep:
            store.database().client.drop_database(store.database().name)
        store.close()
    return 0


def _open(uri: str, mongomock: bool) -> MongoStore:
    from beacon.store.mongo.state import WriteOptions

    options = WriteOptions(cleanup_grace=1.0)
    if not mongomock:
        return MongoStore.from_uri(uri, write_options=options, query_timeout=60.0)
    import mongomock as stand_in

    database = uri.rsplit("/", 1)[-1].split("?")[0] or "beacon_bench"
    return MongoStore.from_client(stand_in.MongoClient(), database, write_options=options, query_timeout=60.0)


if __name__ == "__main__":
    raise SystemExit(main())
