"""Ontologies on MongoDB beyond the contract: the stamp, clean-up of replaced and orphaned terms, the lock.

Runs on the mongomock stand-in (and on a real server when BEACON_TEST_MONGO_URI is set).
"""

from __future__ import annotations

import pytest

from beacon.ontology import Ontology, OntologyResource, OntologyTerm
from beacon.store.mongo import state
from beacon.store.mongo.state import ONTOLOGIES, ONTOLOGY_TERMS, StoreBusy
from loaders.ontology import read_ontology
from tests.conftest import DATA_DIR

HP_EXCERPT = DATA_DIR / "ontology" / "hp_seizure_excerpt.obo"  # 16 terms
SMALL = Ontology(
    resource=OntologyResource(id="demo", name="Demo ontology", name_space_prefix="DEMO"),
    terms=(OntologyTerm("DEMO:1", "root"), OntologyTerm("DEMO:2", None, ("DEMO:1",))),
)


def term_count(store) -> int:
    return store.database()[ONTOLOGY_TERMS].count_documents({})


def test_the_stamp_counts_ontologies_and_writes(mongo_store):
    hpo = read_ontology(HP_EXCERPT)
    assert mongo_store.ontology_stamp() == "0:0"
    mongo_store.put_ontology(hpo)
    assert mongo_store.ontology_stamp() == "1:1"
    mongo_store.put_ontology(SMALL)
    assert mongo_store.ontology_stamp() == "2:2"
    mongo_store.put_ontology(hpo, replace=True)
    assert mongo_store.ontology_stamp() == "2:3"
    assert [ontology.resource.id for ontology in mongo_store.ontologies(with_terms=False)] == ["demo", "hp"]


def test_replaced_terms_are_deleted_by_a_later_write(mongo_store):
    hpo = read_ontology(HP_EXCERPT)
    mongo_store.put_ontology(hpo)
    mongo_store.put_ontology(type(hpo)(resource=hpo.resource, terms=hpo.terms[:3]), replace=True)
    assert term_count(mongo_store) == 16 + 3  # the old version waits for readers that may hold it
    assert mongo_store.ontologies()[0].terms == hpo.terms[:3]
    mongo_store.put_ontology(SMALL)  # the grace period is 0 in tests
    assert term_count(mongo_store) == 3 + 2
    assert mongo_store.database()[ONTOLOGIES].find_one({"_id": "hp"})["retired"] == []


def test_terms_a_dead_writer_left_are_deleted_by_the_next_write(mongo_store):
    mongo_store.put_ontology(SMALL)
    orphans = [{"ontology": "hp", "version": "dead", "id": f"HP:{i}", "label": None, "parents": []} for i in range(4)]
    mongo_store.database()[ONTOLOGY_TERMS].insert_many(orphans)
    assert [ontology.resource.id for ontology in mongo_store.ontologies()] == ["demo"]  # never visible
    mongo_store.put_ontology(read_ontology(HP_EXCERPT))
    assert term_count(mongo_store) == 2 + 16
    assert mongo_store.database()[ONTOLOGY_TERMS].count_documents({"version": "dead"}) == 0


def test_a_held_write_lock_turns_an_ontology_load_away_with_nothing_written(mongo_store):
    mongo_store.check()
    state.acquire_lock(mongo_store.database(), "HOLDER", mongo_store.write_options)
    with pytest.raises(StoreBusy):
        mongo_store.put_ontology(SMALL)
    assert term_count(mongo_store) == 0 and mongo_store.ontologies() == []


def test_terms_are_read_outside_the_request_budget_and_kept_for_later_requests(mongo_store, monkeypatch):
    import threading

    from beacon.store.base import StoreUnavailable
    from beacon.store.mongo import ontologies as mongo_ontologies
    from beacon.store.mongo.budget import request_budget

    mongo_store.put_ontology(SMALL)
    real_read, release, reads = mongo_ontologies.read_ontologies, threading.Event(), []

    def slow_read(db, with_terms):  # the real read, held back as a huge ontology would be
        if with_terms:
            reads.append(1)
            release.wait(10)
        return real_read(db, with_terms)

    monkeypatch.setattr(mongo_ontologies, "read_ontologies", slow_read)
    with request_budget(0.2), pytest.raises(StoreUnavailable, match="being read"):
        mongo_store.ontologies()
    with request_budget(0.2), pytest.raises(StoreUnavailable, match="being read"):
        mongo_store.ontologies()  # the same read goes on: not started again
    release.set()
    with request_budget(1.0):
        assert [term.id for term in mongo_store.ontologies()[0].terms] == ["DEMO:1", "DEMO:2"]
    with request_budget(1.0):
        mongo_store.ontologies()
    assert len(reads) == 1  # one read for the stamp, however many requests asked
    mongo_store.put_ontology(SMALL, replace=True)  # a new stamp: read again
    with request_budget(1.0):
        assert len(mongo_store.ontologies()[0].terms) == 2
    assert len(reads) == 2


def test_a_failed_terms_read_is_reported_and_tried_again_by_the_next_request(mongo_store, monkeypatch):
    from beacon.store.base import StoreUnavailable
    from beacon.store.mongo import ontologies as mongo_ontologies

    mongo_store.put_ontology(SMALL)
    real_read = mongo_ontologies.read_ontologies

    def failing_read(db, with_terms):
        raise RuntimeError("cursor killed")

    monkeypatch.setattr(mongo_ontologies, "read_ontologies", failing_read)
    with pytest.raises(StoreUnavailable, match="could not be read: cursor killed"):
        mongo_store.ontologies()
    monkeypatch.setattr(mongo_ontologies, "read_ontologies", real_read)
    assert [term.id for term in mongo_store.ontologies()[0].terms] == ["DEMO:1", "DEMO:2"]
