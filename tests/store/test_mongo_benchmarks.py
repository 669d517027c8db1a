"""The benchmarks' MongoDB code paths (`--store-uri mongodb://...`), run once on the mongomock stand-in.

The benchmarks themselves need a MongoDB server and minutes; here their load and query-sampling
functions run on a small real VCF (1000 Genomes chr1 slice), and the sampled queries are answered by
the app on that store. Expected values come from `test_1000G_population_allele_counts.tsv`
(computed independently, checked against bcftools), not from the code under test.
"""

from __future__ import annotations

import csv
import re

import pytest

from beacon import create_app
from benchmarks.load_benchmark import full_load
from benchmarks.query_benchmark import DATASET, POLICY, sample_queries_from_store, sized_mongo_uri
from tests.conftest import DATA_DIR, make_settings
from tests.store.conftest import TEST_WRITE_OPTIONS, open_mongomock

VCF = DATA_DIR / "vcf" / "test_1000G.vcf.gz"
TRUTH = DATA_DIR / "vcf" / "test_1000G_population_allele_counts.tsv"


def kept_rows() -> list[dict[str, str]]:
    """Alleles the loader keeps with INFO frequencies: real ALTs with a non-zero INFO allele count."""
    with TRUTH.open(newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [r for r in rows if int(r["info_AC"]) > 0 and not r["alt"].startswith("<")]


@pytest.fixture(scope="module", params=["mongomock-standin"])  # the label says what the store is
def bench_store():
    store = open_mongomock(write_options=TEST_WRITE_OPTIONS)
    loaded, _seconds = full_load(VCF, store)  # closes the store's client; the stand-in keeps its data
    assert loaded == len(kept_rows())
    return store


def test_the_load_benchmark_loads_every_kept_allele_into_mongodb(bench_store):
    assert bench_store.list_datasets() == [{"id": DATASET, "name": "benchmark"}]
    assert bench_store.variant_assemblies() == {"GRCh38"}


def test_queries_sampled_through_the_store_are_answered_as_the_truth_table_says(bench_store, tmp_path):
    rows = kept_rows()
    starts = [int(r["start0"]) for r in rows]
    allele, record, ranges = sample_queries_from_store(bench_store, 15, ("1", min(starts), max(starts)), seed=3)
    assert len(allele) == len(record) == len(ranges) == 15
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    client = create_app(make_settings(tmp_path / "unused.sqlite", access_file=policy), store=bench_store).test_client()
    alleles = {(int(r["start0"]), r["ref"], r["alt"]) for r in rows}
    for path in allele:
        start, ref, alt = re.search(r"start=(\d+)&referenceBases=(\w+)&alternateBases=(\w+)", path).groups()
        assert (int(start), ref, alt) in alleles
        assert client.get(path).get_json()["responseSummary"]["exists"] is True
    for path in ranges:
        start, end = (int(value) for value in re.search(r"start=(\d+)&end=(\d+)", path).groups())
        expected = sum(1 for r in rows if int(r["start0"]) < end and int(r["start0"]) + len(r["ref"]) > start)
        assert client.get(path).get_json()["responseSummary"]["numTotalResults"] == expected > 0


def test_each_store_size_gets_a_database_of_its_own():
    assert sized_mongo_uri("mongodb://u:p@h1,h2/bench?replicaSet=rs0", 1000) == (
        "mongodb://u:p@h1,h2/bench_1000?replicaSet=rs0"
    )
    assert sized_mongo_uri("mongodb://h", 10) == "mongodb://h/beacon_bench_10"


def test_the_mongodb_benchmark_smoke_runs_on_the_stand_in(capsys):
    """A tiny run of benchmarks/mongo_benchmark.py on mongomock: every figure printed, answers as constructed."""
    from benchmarks import mongo_benchmark

    assert mongo_benchmark.main(["mongodb://x/bench_smoke", "--mongomock", "--individuals", "100",
                                 "--variants", "500", "--queries", "2"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("metadata load: 200 records") and lines[1].startswith("variant load: 500 variants")
    assert any(line.startswith("/filtering_terms: ") for line in lines)
    answers = {line.split(":")[0]: line.rsplit("answers ", 1)[1] for line in lines if "answers" in line}
    assert answers["count by ontology term"] == "2..2"  # 100 individuals over 50 diseases
    assert answers["count by age>50"] == "49..49"  # ages 0..99 once each: 51..99
    assert answers["allele count"] == "1..1" and answers["gene record page"] == "1..1"  # one SNV per gene
