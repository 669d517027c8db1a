"""Answer g_variants queries and the variant relations (carrier biosamples and individuals), per dataset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from beacon.errors import NotFound
from beacon.query.carriers import CannotTell, individuals_of, missing_annotations_reason, no_case_level_data
from beacon.query.entries import Caller, Scope, VisibleDataset, answer_per_dataset, not_answered, visible_datasets
from beacon.query.entry_types import G_VARIANTS, EntryType
from beacon.query.granularity import Granularity, narrowest
from beacon.query.privacy import NO_PROTECTIONS, Protections, carriers_needed, common_variants, protected_search
from beacon.query.requests import BeaconRequest
from beacon.query.responses import DatasetResult
from beacon.query.variant_records import CASE_LEVEL_READ, build_record, dataset_frequency_source
from beacon.query.variants import VariantRequest
from beacon.store.base import FrequencySource, RecordQuery, Store, VariantDocument, VariantQuery, build_id_query


@dataclass(frozen=True)
class VariantSearch:
    """What a variant query needs besides the request: the store, the caller and the beacon's base URL."""

    store: Store
    caller: Caller
    base_url: str
    unfiltered: Store | None = None
    """The store without the request's filters (what a dataset holds), when `store` applies them."""

    def datasets(self, scope: Scope) -> list[VisibleDataset]:
        """The datasets in scope this caller may see, with their ceilings and defences."""
        return visible_datasets(self.store, self.caller, scope)

    def frequency_source(self, dataset_id: str) -> FrequencySource:
        """Where a dataset's frequencies come from: the source its variants were loaded with, else the dataset."""
        loaded = self.store.variant_frequency_source(dataset_id)
        if loaded is not None:
            return loaded
        found = self.store.find_records(RecordQuery("datasets", dataset_id, record_id=dataset_id, limit=1))
        return dataset_frequency_source(found[0] if found else {"id": dataset_id}, self.base_url)

    def records(self, dataset_id: str, documents: list[VariantDocument]) -> list[Mapping[str, Any]]:
        """The Beacon records of a dataset's variants (its frequency source read once)."""
        if not documents:
            return []
        source = self.frequency_source(dataset_id)
        return [build_record(document, frequency_source=source) for document in documents]


def search_variants(
    search: VariantSearch,
    request: BeaconRequest,
    variant_request: VariantRequest,
    scope: Scope,
    *,
    needs_carriers: bool = False,
) -> list[DatasetResult]:
    """Per-dataset results of a g_variants query (counts always exact, records only at record level).

    A dataset whose variants cannot answer it (no gene or protein annotations, no rsIDs, or, when the query
    `needs_carriers`, no case-level data) gets a result set saying so instead (`info.cannotTell`).
    """

    datasets = search.datasets(scope)
    searches = {dataset.dataset_id: protected_search(search.store, dataset.protections) for dataset in datasets}
    reading = {dataset.dataset_id: carrier_reading(dataset, request.requested_granularity) for dataset in datasets}

    def query(dataset_id: str) -> VariantQuery:
        found = variant_request.for_dataset(dataset_id, skip=request.offset, limit=request.limit)
        return replace(found, **reading[dataset_id])

    def count(dataset_id: str) -> int:
        return searches[dataset_id][0](query(dataset_id))

    def find(dataset_id: str) -> list[Mapping[str, Any]]:
        return search.records(dataset_id, list(searches[dataset_id][1](query(dataset_id))))

    whole = search.unfiltered or search.store
    reasons = {d.dataset_id: cannot_tell(whole, d.dataset_id, variant_request, needs_carriers) for d in datasets}
    answered = answer_per_dataset(
        [dataset for dataset in datasets if reasons[dataset.dataset_id] is None],
        request,
        G_VARIANTS,
        count=count,
        find=find,
        caller=search.caller,
    )
    results = [*answered, *not_answered(datasets, reasons, request, G_VARIANTS)]
    return sorted(results, key=lambda result: result.dataset_id)


def carrier_reading(dataset: VisibleDataset, requested: Granularity) -> dict[str, Any]:
    """How much of each variant's carriers a g_variants answer reads (`VariantQuery.with_carriers`/`max_carriers`).

    Records (record granularity) list at most CASE_LEVEL_LIMIT carriers, so CASE_LEVEL_READ are read;
    answers without records read none, except what rare-allele protection needs: its allele count falls
    back on the carriers, and with `k` carriers read (each counting at least 1) a variant carried by
    more than `k` counts at least `k`, so `k` = the highest threshold (minimum plus jitter) decides
    rarity exactly as all of them would.
    """
    needed = carriers_needed(dataset.protections)
    if narrowest(requested, dataset.ceiling, G_VARIANTS.max_granularity) == Granularity.RECORD:
        return {"max_carriers": max(CASE_LEVEL_READ, needed)}
    return {"max_carriers": needed} if needed > 0 else {"with_carriers": False}


def cannot_tell(
    store: Store, dataset_id: str, variant_request: VariantRequest, needs_carriers: bool
) -> CannotTell | None:
    """Why a dataset's variants cannot answer a g_variants query; None when they can (or it has none).

    `store` must be unfiltered: filters narrow what matches, not what the dataset holds."""
    template = variant_request.template
    needs_annotations = any(
        value is not None
        for value in (template.gene_id, template.aminoacid_change, template.protein_id, template.rs_id)
    )
    if not needs_annotations and not needs_carriers:
        return None  # the common position lookup asks nothing more of the store
    if not store.count_variants(VariantQuery(dataset_id, kind="all")):
        return None  # a dataset without variants holds none of them
    available = store.variant_annotations(dataset_id)
    if needs_carriers and "caseLevelData" not in available:
        return no_case_level_data(dataset_id, "it cannot tell which of its variants individuals or biosamples carry")
    return missing_annotations_reason(dataset_id, template, available)


def variant_id_request(variant_id: str) -> VariantRequest:
    """The query for one variant by its internal id, located by the id; NotFound when no variant can have it."""
    template = build_id_query("", variant_id)
    if template is None:
        raise NotFound(f"no genomic variant with id {variant_id!r}")
    return VariantRequest(template=template)


def search_one_variant(
    search: VariantSearch, request: BeaconRequest, variant_id: str, scope: Scope
) -> list[DatasetResult]:
    """Results for `/g_variants/{id}`: the variant in each dataset (of the scope) holding it, or 404."""
    results = search_variants(search, request, variant_id_request(variant_id), scope)
    if not any(result.exists for result in results):
        raise NotFound(f"no genomic variant with id {variant_id!r}")
    return results


def search_carriers(
    search: VariantSearch, request: BeaconRequest, variant_id: str, entry_type: EntryType, scope: Scope
) -> list[DatasetResult]:
    """Biosamples or individuals carrying a variant (needs case-level data), per dataset."""

    datasets = search.datasets(scope)
    protections = {dataset.dataset_id: dataset.protections for dataset in datasets}

    @cache
    def record_ids(dataset_id: str) -> frozenset[str]:
        if _hidden_variant(search.store, dataset_id, variant_id, protections[dataset_id]):
            return frozenset()
        biosamples = frozenset(search.store.variant_carriers(dataset_id, variant_id))
        return biosamples if entry_type.path == "biosamples" else individuals_of(search.store, dataset_id, biosamples)

    def record_query(dataset_id: str) -> RecordQuery:
        ids = record_ids(dataset_id)
        return RecordQuery(entry_type.path, dataset_id, record_ids=ids, skip=request.offset, limit=request.limit)

    return answer_per_dataset(
        datasets,
        request,
        entry_type,
        count=lambda dataset_id: search.store.count_records(record_query(dataset_id)) if record_ids(dataset_id) else 0,
        find=lambda dataset_id: search.store.find_records(record_query(dataset_id)),
        caller=search.caller,
    )


def _hidden_variant(store: Store, dataset_id: str, variant_id: str, protections: Protections) -> bool:
    """Whether rare-allele protection hides the variant from this caller (then it has no carriers to show)."""
    if protections == NO_PROTECTIONS or protections.min_allele_count is None:
        return False
    query = build_id_query(dataset_id, variant_id)
    # Enough carriers for the protections to decide (see `carrier_reading`), not all of them.
    return query is None or not common_variants(
        store, replace(query, max_carriers=carriers_needed(protections)), protections
    )
