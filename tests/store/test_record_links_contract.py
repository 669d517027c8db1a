"""`record_links`: the ids linked filters follow, without a page limit and without payloads (both stores)."""

from __future__ import annotations

import pytest

from beacon.store.base import MetadataBatch, RecordQuery, TermCondition

FEMALE = {"id": "NCIT:C16576", "label": "female"}
TUMOUR = {"id": "UBERON:0000310", "label": "breast"}


@pytest.fixture
def linked_store(any_store):
    biosamples = [
        {"id": f"b{i}", "datasetId": "A", "individualId": f"i{i % 3}", "sampleOriginType": TUMOUR} for i in range(12)
    ]
    biosamples.append({"id": "b-orphan", "datasetId": "A", "sampleOriginType": TUMOUR})  # names no individual
    biosamples.append({"id": "b-other", "datasetId": "A", "individualId": "i9"})
    individuals = [{"id": f"i{i}", "datasetId": "A", "sex": FEMALE} for i in range(3)]
    any_store.put_metadata(
        MetadataBatch({"datasets": [{"id": "A"}], "individuals": individuals, "biosamples": biosamples})
    )
    return any_store


def test_record_links_returns_every_linked_individual_whatever_the_page_limit(linked_store):
    tumours = RecordQuery("biosamples", "A", conditions=(TermCondition(frozenset({TUMOUR["id"]})),), limit=1)
    assert linked_store.record_links(tumours, "individualId") == frozenset({"i0", "i1", "i2"})
    assert len(linked_store.record_links(tumours, "id")) == 13  # b0..b11 and b-orphan


def test_record_links_of_nothing_is_empty_and_other_fields_are_refused(linked_store):
    nobody = RecordQuery("individuals", "A", record_ids=frozenset({"nobody"}))
    assert linked_store.record_links(nobody, "id") == frozenset()
    with pytest.raises(ValueError, match="individualId"):
        linked_store.record_links(nobody, "doc")
