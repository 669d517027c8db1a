"""Hostile inputs on the MongoDB paths (issue 18, item 8): huge integers, large `$in` lists, `%` wildcards.

Filters are compared with hand-written expectations; the HTTP checks use the demo app (any store: the
wildcard limit is the request layer's, before any store is asked).
"""

from __future__ import annotations

import json

import pytest

from beacon.store.base import ValueCondition, VariantQuery
from beacon.store.mongo.carriers import carrier_filter
from beacon.store.mongo.queries import condition_filter, wildcard_pattern
from beacon.store.mongo.variant_queries import VariantSet, find_filter, variant_filters

LONG_VARIANTS = VariantSet(version=3, assembly="GRCh38", max_short_span=10, max_span=50_000)


def test_an_integer_bson_cannot_hold_is_a_value_error_not_an_overflow():
    query = VariantQuery("D1", kind="range", chromosome="1", start=2**64, end=2**64 + 10)
    with pytest.raises(ValueError, match="64-bit"):
        variant_filters(query, LONG_VARIANTS)


def test_a_huge_start_through_the_store_is_refused_before_the_server(mongo_store):
    from beacon.store.base import MetadataBatch
    from tests.store.test_variant_contract import SNV

    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "D1"}]}))
    variant_load = mongo_store.begin_variant_load("D1")
    variant_load.add([SNV])
    variant_load.commit()
    query = VariantQuery("D1", kind="range", chromosome="17", start=-(2**70), end=5)
    with pytest.raises(ValueError, match="64-bit"):
        mongo_store.count_variants(query)  # never BSON's OverflowError


def test_a_large_biosample_list_is_sent_once_not_per_or_branch():
    biosamples = frozenset(f"S{i}" for i in range(5000))
    carried = [f"GRCh38-1-{1000 + i}-A-T" for i in range(5000)]  # what the semi-join's first step found
    query = VariantQuery("D1", kind="range", chromosome="1", start=1000, end=2000, biosample_ids=biosamples)
    assert len(variant_filters(query, LONG_VARIANTS, carried)) == 2  # a short-variant part and a long-variant part
    assert json.dumps(carrier_filter(3, query)).count('"S4999"') == 1  # the biosamples: once, to the chunks
    combined = find_filter(query, LONG_VARIANTS, carried)
    assert json.dumps(combined).count('"GRCh38-1-5999-A-T"') == 1  # the variants they carry: once
    assert [set(clause) for clause in combined["$and"]] == [{"$or"}, {"variant_id"}]
    assert all("$and" not in branch for branch in combined["$and"][0]["$or"])


def test_a_query_naming_biosamples_is_never_built_without_their_variants():
    query = VariantQuery("D1", kind="all", biosample_ids=frozenset({"S1"}))
    with pytest.raises(ValueError, match="variants they carry"):
        find_filter(query, LONG_VARIANTS)


def test_wildcard_runs_count_once_and_many_wildcards_are_refused():
    assert wildcard_pattern("a%%%b") == wildcard_pattern("a%b")
    with pytest.raises(ValueError, match="at most 4"):
        condition_filter(ValueCondition("diseases.notes", "=", "%a%b%c%d%e"))


def test_too_many_wildcards_in_a_filter_are_a_400(client):
    response = client.get("/api/individuals", query_string={"filters": "sex.label=%a%b%c%d%e"})
    assert response.status_code == 400
    assert "at most 4 % wildcards" in response.get_json()["error"]["errorMessage"]
    allowed = client.get("/api/individuals", query_string={"filters": "sex.label=%e%a%e%"})
    assert allowed.status_code == 200
