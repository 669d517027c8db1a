"""Variant reads on MongoDB: counts, pages and carriers of a dataset's current version (`MongoStore` calls these).

A query naming biosamples is a semi-join (`mongo_carriers`): the ids of the variants they carry
first, then the variant query narrowed to them, one batch of ids after another. The batches follow
the position order of record pages, so a page is the concatenation of the batches' matches.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pymongo.database import Database

from beacon.store.base import VariantDocument, VariantQuery
from beacon.store.mongo import carriers as mongo_carriers
from beacon.store.mongo.state import VARIANTS
from beacon.store.mongo.variant_queries import VariantSet, find_filter, index_hint, is_everything, variant_filters
from beacon.store.mongo.variants import ORDER, STORED_FIELDS, decode_variant


def _carried(db: Database, variant_set: VariantSet, query: VariantQuery) -> list[Any]:
    """The batches a query is asked in: [None] without biosamples, else batches of the ids they carry."""
    if query.biosample_ids is None:
        return [None]
    return mongo_carriers.id_batches(mongo_carriers.carried_variant_ids(db, variant_set.version, query))


def count_variants(db: Database, variant_set: VariantSet, query: VariantQuery) -> int:
    """How many variants of the version match, counted by the server (covered by the indexes where possible)."""
    if is_everything(query):
        return variant_set.count
    hint = {"hint": name} if (name := index_hint(query)) else {}
    return sum(
        db[VARIANTS].count_documents(part, **hint)
        for carried in _carried(db, variant_set, query)
        for part in variant_filters(query, variant_set, carried)
    )


def find_variants(
    db: Database, variant_set: VariantSet, query: VariantQuery, skip: int, limit: int
) -> list[VariantDocument]:
    """The matching variants in position order with skip/limit applied, their carriers as the query asks."""
    stored: list[dict[str, Any]] = []
    for carried in _carried(db, variant_set, query):
        cursor = db[VARIANTS].find(find_filter(query, variant_set, carried), STORED_FIELDS)
        if hint := index_hint(query):
            cursor = cursor.hint(hint)
        if carried is None:  # one query: the server pages it
            stored = list(cursor.sort(ORDER).skip(skip).limit(limit).batch_size(limit))
            break
        found = list(cursor.sort(ORDER).limit(skip + limit))  # a batch: paged across batches here
        taken = min(skip, len(found))
        skip -= taken
        stored += found[taken : taken + limit - len(stored)]
        if len(stored) == limit:
            break
    return _with_carriers(db, variant_set.version, stored, query)


def _with_carriers(
    db: Database, version: int, stored: list[dict[str, Any]], query: VariantQuery
) -> list[VariantDocument]:
    documents = [decode_variant(found) for found in stored]
    carried = [found["variant_id"] for found in stored if found.get(mongo_carriers.CARRIER_COUNT)]
    if not query.with_carriers or not carried or query.max_carriers == 0:
        return documents
    carriers = mongo_carriers.read_carriers(db, version, carried, query.max_carriers)
    return [
        replace(document, carriers=carriers[document.variant_id]) if document.variant_id in carriers else document
        for document in documents
    ]


def carriers_of(db: Database, variant_set: VariantSet, query: VariantQuery) -> list[str]:
    """Biosample ids carrying any variant the query matches in the version, ordered."""
    projection = {"_id": 0, "variant_id": 1}
    variant_ids: list[str] = []
    for carried in _carried(db, variant_set, query):
        wanted = {**find_filter(query, variant_set, carried), mongo_carriers.CARRIER_COUNT: {"$gt": 0}}
        cursor = db[VARIANTS].find(wanted, projection)
        if hint := index_hint(query):
            cursor = cursor.hint(hint)
        variant_ids += [found["variant_id"] for found in cursor]
    return mongo_carriers.biosamples_carrying(db, variant_set.version, variant_ids)
