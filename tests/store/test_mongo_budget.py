"""The time budget of MongoDB reads (`beacon.store.mongo.budget`): shared within a request, fresh for each.

The stand-in answers in microseconds, so these tests check the bookkeeping; the bound itself is
checked against a real pymongo client and a port nothing listens on.
"""

from __future__ import annotations

import socket

import pymongo
import pytest

from beacon.store.base import RecordQuery, StoreUnavailable, VariantQuery
from beacon.store.mongo import budget as mongo_budget
from beacon.store.mongo.budget import READ_BUDGET, remaining_budget, request_budget, with_read_budget
from beacon.store.mongo.ontology_terms import TERMS_TIMEOUT
from beacon.store.mongo.store import QUERY_TIMEOUT, MongoStore

READS = [
    lambda store: store.list_datasets(),
    lambda store: store.count_records(RecordQuery("individuals", "A")),
    lambda store: store.find_records(RecordQuery("individuals", "A")),
    lambda store: store.filtering_terms(),
    lambda store: store.count_variants(VariantQuery("A", kind="all")),
    lambda store: store.find_variants(VariantQuery("A", kind="all")),
    lambda store: store.variant_assemblies(),
    lambda store: store.variant_annotations(),
    lambda store: store.variant_frequency_source("A"),
    lambda store: store.variant_carriers("A", "GRCh38-17-7577121-C-T"),  # an id in the loader's format
    lambda store: store.ontologies(),
    lambda store: store.ontology_stamp(),
]
READ_IDS = [
    "list_datasets", "count_records", "find_records", "filtering_terms", "count_variants", "find_variants",
    "variant_assemblies", "variant_annotations", "variant_frequency_source", "variant_carriers", "ontologies",
    "ontology_stamp",
]  # fmt: skip


def test_the_budget_leaves_room_for_token_checks_within_five_seconds():
    token_checks = 3.0  # beacon.auth: at most 3 s per request
    assert READ_BUDGET == 1.5 and token_checks + READ_BUDGET < 5.0


@pytest.mark.parametrize("read", READS, ids=READ_IDS)
def test_every_read_spends_the_request_budget(mongo_store, read):
    with request_budget() as budget:
        read(mongo_store)
        assert 0 < budget.remaining < READ_BUDGET


@pytest.mark.parametrize("read", READS, ids=READ_IDS)
def test_a_request_that_spent_its_budget_gets_store_unavailable(mongo_store, read):
    with request_budget(0.8) as budget:
        budget.remaining = 0.0
        with pytest.raises(StoreUnavailable, match=r"has spent its 0\.8 s of reads"):
            read(mongo_store)


def applied_timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds of every `pymongo.timeout` the store applies from now on (pymongo's own does the work)."""
    applied: list[float] = []
    real_timeout = pymongo.timeout

    def recording(seconds: float):
        applied.append(seconds)
        return real_timeout(seconds)

    monkeypatch.setattr(mongo_budget.pymongo, "timeout", recording)
    return applied


def test_reads_outside_a_request_each_get_their_own_bound(mongo_store, monkeypatch):
    assert remaining_budget() is None
    applied = applied_timeouts(monkeypatch)
    for read in READS:
        before = len(applied)
        read(mongo_store)
        # Bounded, and by the whole bound: no earlier read spent any of it. The ontology terms are read
        # by a background thread with a bound of their own (`mongo_ontology_terms`).
        assert len(applied) > before and set(applied[before:]) - {TERMS_TIMEOUT} == {QUERY_TIMEOUT}
    assert remaining_budget() is None


def test_reads_outside_a_request_on_an_unreachable_server_are_each_bounded():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = MongoStore.from_uri(f"mongodb://127.0.0.1:{port}/beacon?serverSelectionTimeoutMS=4000", query_timeout=0.3)
    try:
        for _ in range(2):  # the second read gets a bound of its own, not what the first one left
            with pytest.raises(StoreUnavailable) as raised:
                store.count_records(RecordQuery("individuals", "A"))
            assert "Timeout: 0." in str(raised.value) and "has spent" not in str(raised.value)
    finally:
        store.close()


def test_each_request_of_the_wsgi_app_gets_a_fresh_budget():
    seen = []

    def app(environ, start_response):
        seen.append(remaining_budget())
        with request_budget(0.0):  # nested budgets are the inner one's business only
            pass
        start_response("200 OK", [])
        return [b""]

    wrapped = with_read_budget(app, seconds=1.25)
    for _ in range(2):
        wrapped({}, lambda status, headers: None)
    assert seen == [1.25, 1.25] and remaining_budget() is None


def test_the_budget_bounds_a_read_on_an_unreachable_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = MongoStore.from_uri(f"mongodb://127.0.0.1:{port}/beacon?serverSelectionTimeoutMS=4000")
    with request_budget(0.2), pytest.raises(StoreUnavailable) as raised:
        store.count_records(RecordQuery("individuals", "A"))
    # pymongo names the timeout it applied: the budget's 0.2 s, not the URI's 4 s server selection.
    assert "Timeout: 0." in str(raised.value)
    store.close()
