"""Variant lookups by id on SQLite use an index, never a scan of the variants table.

The statements checked are the ones the store actually issues (captured with a trace callback), each
run again under `EXPLAIN QUERY PLAN`. On 10M variants a scan takes about 10 s, beyond the 5 s after
which Beacon aggregators drop an answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from beacon.store.base import MetadataBatch, VariantQuery, build_id_query
from beacon.store.sqlite import SqliteStore
from tests.store.test_variant_contract import D, variant

# Enough variants, over two chromosomes, that the planner's statistics (ANALYZE at commit) are not trivial.
VARIANTS = [
    variant(1000 + 7 * n, "C", "T", chromosome=chromosome, carriers=(("S1", "heterozygous"),) if n % 3 else ())
    for chromosome in ("17", "22")
    for n in range(500)
]
WANTED = VARIANTS[600]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "plans.sqlite")
    store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    load = store.begin_variant_load(D)
    load.add(VARIANTS)
    load.commit()
    yield store
    store.close()


def issued_statements(store: SqliteStore, operation: Callable[[SqliteStore], object]) -> list[str]:
    """The statements (parameters expanded) that `operation` runs on the store's connection and that read variants."""
    statements: list[str] = []
    conn = store._conn()
    conn.set_trace_callback(statements.append)
    try:
        operation(store)
    finally:
        conn.set_trace_callback(None)
    return [statement for statement in statements if " FROM variants_" in statement]


def query_plan(conn: sqlite3.Connection, statement: str) -> list[str]:
    """The `detail` column of each step of the statement's query plan."""
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]


def located(variant_id: str) -> VariantQuery:
    query = build_id_query(D, variant_id)
    assert query is not None
    return query


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        (lambda store: store.find_variants(located(WANTED.variant_id)), [WANTED]),
        (lambda store: store.count_variants(located(WANTED.variant_id)), 1),
        (lambda store: store.variant_carriers(D, WANTED.variant_id), ["S1"]),
    ],
    ids=["find_variants", "count_variants", "variant_carriers"],
)
def test_a_lookup_by_id_searches_an_index_instead_of_scanning_the_variants(store, operation, answer):
    assert operation(store) == answer
    statements = issued_statements(store, operation)
    assert statements, "the lookup read no variants table"
    for statement in statements:
        plan = query_plan(store._conn(), statement)
        assert not [step for step in plan if step.startswith("SCAN")], (statement, plan)
        assert any("USING" in step and "INDEX variants_" in step for step in plan), (statement, plan)


# Every variant has an rsID and a gene, as in a dbSNP-annotated, VEP-annotated VCF.
NAMED = [
    variant(1000 + 7 * n, "C", "T", chromosome=chromosome, rs_ids=(f"rs{n}{chromosome}",), gene_ids=(f"G{n // 10}",))
    for chromosome in ("17", "22")
    for n in range(500)
]


@pytest.fixture
def named_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "named.sqlite")
    store.put_metadata(MetadataBatch({"datasets": [{"id": D}]}))
    load = store.begin_variant_load(D)
    load.add(NAMED)
    load.commit()
    yield store
    store.close()


@pytest.mark.parametrize(
    ("narrowing", "expected"),
    [({"rs_id": "rs4222"}, [NAMED[542]]), ({"gene_id": "G3"}, [v for v in NAMED if v.gene_ids == ("G3",)])],
    ids=["rs_id", "gene_id"],
)
def test_a_lookup_by_rs_id_or_gene_searches_the_annotations_index(named_store, narrowing, expected):
    query = VariantQuery(D, kind="all", limit=100, **narrowing)
    for operation, answer in (
        (lambda store: store.find_variants(query), expected),
        (lambda store: store.count_variants(query), len(expected)),
    ):
        assert operation(named_store) == answer
        for statement in issued_statements(named_store, operation):
            plan = query_plan(named_store._conn(), statement)
            assert not [step for step in plan if step.startswith("SCAN")], (statement, plan)
            assert any("INDEX variants_" in step and "_annotations_ix" in step for step in plan), (statement, plan)
