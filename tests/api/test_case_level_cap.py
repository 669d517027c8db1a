"""caseLevelData in g_variants records: at most 1,000 carriers per record, said in the record's `info`; answers
read only the carriers they show or that rare-allele protection needs (issue 18, item 5).

A dataset of two hand-written variants without frequencies (so rare-allele protection counts their
carriers): one carried by 1,500 biosamples, one by 3. Both stores: SQLite and the MongoDB store's
code on mongomock.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from beacon import create_app
from beacon.store.base import MetadataBatch, VariantQuery
from tests.conftest import assert_valid, make_settings
from tests.store.conftest import open_backend
from tests.store.test_variant_contract import variant

CROWD = [(f"B{number:04d}", "homozygous" if number % 2 else "heterozygous") for number in range(1500)]
CROWDED = dataclasses.replace(variant(7577121, "C", "T"), carriers=tuple(CROWD))
FEW = dataclasses.replace(variant(7577300, "G", "A"), carriers=(("B0001", "heterozygous"), ("B0002", None)))
WINDOW = {"referenceName": "17", "assemblyId": "GRCh38", "start": 7577000, "end": 7578000}


class RecordingStore:
    """A real store that records the variant queries asked of `find_variants`."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.found: list[VariantQuery] = []

    def find_variants(self, query: VariantQuery) -> Any:
        self.found.append(query)
        return self._store.find_variants(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture(params=["sqlite", "mongomock-standin"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RecordingStore:
    backend = open_backend(request.param, request, tmp_path)
    backend.put_metadata(MetadataBatch({"datasets": [{"id": "crowd", "name": "crowd"}]}))
    loading = backend.begin_variant_load("crowd")
    loading.add([CROWDED, FEW])
    loading.commit()
    return RecordingStore(backend)


def client(store: RecordingStore, tmp_path: Path, rare: str = "rare_alleles: {enabled: false}\n"):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"default_level: PUBLIC\n{rare}", encoding="utf-8")
    return create_app(make_settings(tmp_path / "unused.sqlite", access_file=policy), store=store).test_client()


def test_a_record_lists_the_first_1000_carriers_and_says_so(store, tmp_path, validator):
    response = client(store, tmp_path).get("/api/g_variants", query_string={**WINDOW, "requestedGranularity": "record"})
    document = response.get_json()
    assert response.status_code == 200, document
    assert_valid(validator, document)
    records = {record["variantInternalId"]: record for record in document["response"]["resultSets"][0]["results"]}
    crowded = records[CROWDED.variant_id]
    assert [item["biosampleId"] for item in crowded["caseLevelData"]] == [b for b, _ in CROWD[:1000]]
    assert crowded["caseLevelData"][1]["zygosity"]["label"] == "homozygous"
    assert crowded["info"]["caseLevelData"]["complete"] is False
    assert f"/g_variants/{CROWDED.variant_id}/biosamples" in crowded["info"]["caseLevelData"]["note"]
    few = records[FEW.variant_id]
    assert [item["biosampleId"] for item in few["caseLevelData"]] == ["B0001", "B0002"] and "info" not in few
    assert {query.max_carriers for query in store.found} == {1001}  # never all 1,500


def test_counts_under_rare_allele_protection_read_only_the_carriers_rarity_needs(store, tmp_path):
    rare = "rare_alleles: {min_allele_count: 3, tiers: [anonymous]}\n"
    answer = client(store, tmp_path, rare).get(
        "/api/g_variants", query_string={**WINDOW, "requestedGranularity": "count"}
    )
    document = answer.get_json()
    assert answer.status_code == 200, document
    # FEW: 2 copies (two heterozygous-or-unknown carriers) < 3, hidden; CROWDED: 1,500 carriers, shown.
    assert document["responseSummary"]["numTotalResults"] == 1
    assert store.found and {query.max_carriers for query in store.found} == {3}
    assert all(query.with_carriers for query in store.found)


def test_unprotected_counts_read_no_variant_at_all(store, tmp_path):
    answer = client(store, tmp_path).get("/api/g_variants", query_string={**WINDOW, "requestedGranularity": "count"})
    assert answer.get_json()["responseSummary"]["numTotalResults"] == 2
    assert store.found == []  # counted by the store, no document read
