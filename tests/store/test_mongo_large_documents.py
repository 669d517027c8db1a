"""Case-level data that no MongoDB document could hold is refused with a message, not a BSON error (item 5)."""

from __future__ import annotations

import dataclasses

import pytest
from pymongo.errors import DocumentTooLarge, OperationFailure

from beacon.store.base import MetadataBatch, StoreError, VariantQuery
from beacon.store.mongo.errors import translate_error
from tests.store.test_variant_contract import MNP, SNV


def test_a_variant_with_too_many_carriers_is_refused_naming_it(mongo_store):
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "D1"}]}))
    carriers = tuple((f"HG{number:07d}-biosample-with-a-long-identifier", "heterozygous") for number in range(400_000))
    crowded = dataclasses.replace(SNV, carriers=carriers)
    variant_load = mongo_store.begin_variant_load("D1")
    with pytest.raises(StoreError, match=rf"variant {SNV.variant_id} has 400000 carriers: about \d+ MB"):
        variant_load.add([MNP, crowded])
    variant_load.abort()
    assert mongo_store.count_variants(VariantQuery("D1", kind="all")) == 0


def test_a_variant_with_many_carriers_that_fit_is_stored(mongo_store):
    mongo_store.put_metadata(MetadataBatch({"datasets": [{"id": "D1"}]}))
    carriers = tuple((f"S{number}", "heterozygous") for number in range(20_000))  # ~1 MB
    variant_load = mongo_store.begin_variant_load("D1")
    variant_load.add([dataclasses.replace(SNV, carriers=carriers)])
    variant_load.commit()
    assert len(mongo_store.variant_carriers("D1", SNV.variant_id)) == 20_000


@pytest.mark.parametrize(
    "error",
    [
        DocumentTooLarge("BSON document too large (17000000 bytes)"),
        OperationFailure("object to insert too large", 10334),
    ],
)
def test_bson_size_errors_of_the_server_become_a_store_error_saying_so(error):
    translated = translate_error(error, "db1:27017")
    assert type(translated) is StoreError and "16 MB limit" in str(translated)
