"""g_variants endpoints: /g_variants, /g_variants/{id}, its carriers, /datasets/{id}/g_variants, and the
variants of one record (/biosamples/{id}/g_variants, /runs/{id}/g_variants...; routed by beacon.api.entries)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify

from beacon.api.context import BeaconContext, beacon_context, current_caller, parse_request
from beacon.api.filtering import FilteredRequest, filter_request
from beacon.query import responses
from beacon.query.entries import Scope, find_record, unavailable_selected
from beacon.query.entry_types import BIOSAMPLES, G_VARIANTS, INDIVIDUALS, EntryType
from beacon.query.filtering import CASES, FilteredStore
from beacon.query.granularity import Granularity
from beacon.query.relations import record_biosamples
from beacon.query.variant_search import (
    VariantSearch,
    search_carriers,
    search_one_variant,
    search_variants,
    variant_id_request,
)
from beacon.query.variants import parse_variant_request
from beacon.store.base import Store

bp = Blueprint("g_variants", __name__)
_METHODS = ("GET", "POST")


def _search(ctx: BeaconContext, store: Store | FilteredStore) -> VariantSearch:
    return VariantSearch(store=store, caller=current_caller(ctx), base_url=ctx.identity.base_url, unfiltered=ctx.store)


def _respond(
    ctx: BeaconContext, filtered: FilteredRequest, entry_type: EntryType, results: list, scope: Scope, *extra: str
) -> Response:
    # A dataset that cannot tell says why in its result set and, for clients reading only the summary, here.
    cannot_tell = [str(result.info["error"]["errorMessage"]) for result in results if not result.answered]
    warnings = [*unavailable_selected(scope, results), *cannot_tell, *extra]
    info = filtered.info(*current_caller(ctx).warnings, *warnings)
    document = responses.build_resultsets_response(ctx.identity.id, filtered.request, entry_type, results, info)
    return jsonify(document)


@bp.route("/g_variants", methods=_METHODS)
def list_variants() -> Response:
    """Sequence, range, bracket or gene queries over every dataset the caller may see."""
    return _variants()


@bp.route("/datasets/<dataset_id>/g_variants", methods=_METHODS)
def dataset_variants(dataset_id: str) -> Response:
    """The same queries within one dataset."""
    return _variants(dataset_ids=(dataset_id,), explicit=True)


def _variants(**narrowing: Any) -> Response:
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx, G_VARIANTS), G_VARIANTS)
    request = filtered.request
    scope = Scope.of(request, **narrowing)
    variant_request = parse_variant_request(request.request_parameters, ctx.store.variant_assemblies())
    # Filters on individuals or biosamples select variants through their carriers (case-level data).
    needs_carriers = filtered.applied.entity == "g_variants" and bool(CASES & set(filtered.applied.conditions))
    results = search_variants(
        _search(ctx, filtered.store), request, variant_request, scope, needs_carriers=needs_carriers
    )
    return _respond(ctx, filtered, G_VARIANTS, results, scope)


def record_variants(parent: EntryType, entry_id: str) -> Response:
    """The variants carried by one record's biosamples (case-level data), narrowed by any g_variants query."""
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx, G_VARIANTS), G_VARIANTS)
    record = find_record(ctx.store, current_caller(ctx), parent, entry_id, Scope.of(filtered.request))
    dataset_id = str(record["datasetId"])
    variant_request = parse_variant_request(filtered.request.request_parameters, ctx.store.variant_assemblies())
    # The record's dataset, unless the request selects other datasets only (then nothing matches).
    scope = Scope.of(filtered.request, dataset_ids=(dataset_id,))
    carriers = record_biosamples(ctx.store, parent, record)
    variant_request = replace(variant_request, template=replace(variant_request.template, biosample_ids=carriers))
    # Only the carriers relate a variant to the record: without case-level data the dataset cannot tell.
    search = _search(ctx, filtered.store)
    results = search_variants(search, filtered.request, variant_request, scope, needs_carriers=True)
    return _respond(ctx, filtered, G_VARIANTS, results, scope)


@bp.route("/g_variants/<variant_id>", methods=_METHODS)
def one_variant(variant_id: str) -> Response:
    """One variant by its `variantInternalId`, in each dataset that holds it."""
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx), G_VARIANTS, listing=False)
    scope = Scope.of(filtered.request)
    if not filtered.applied.filters:
        results = search_one_variant(_search(ctx, ctx.store), filtered.request, variant_id, scope)
        return _respond(ctx, filtered, G_VARIANTS, results, scope)
    # Unknown ids are a 404 whatever the filters; a known variant the filters exclude does not exist.
    unfiltered = replace(filtered.request, filters=(), requested_granularity=Granularity.BOOLEAN)
    search_one_variant(_search(ctx, ctx.store), unfiltered, variant_id, scope)
    results = search_variants(_search(ctx, filtered.store), filtered.request, variant_id_request(variant_id), scope)
    return _respond(ctx, filtered, G_VARIANTS, results, scope)


@bp.route("/g_variants/<variant_id>/biosamples", methods=_METHODS)
def variant_biosamples(variant_id: str) -> Response:
    """Biosamples carrying the variant (loaded with --case-level)."""
    return _carriers(variant_id, BIOSAMPLES)


@bp.route("/g_variants/<variant_id>/individuals", methods=_METHODS)
def variant_individuals(variant_id: str) -> Response:
    """Individuals whose biosamples carry the variant (loaded with --case-level)."""
    return _carriers(variant_id, INDIVIDUALS)


def _carriers(variant_id: str, entry_type: EntryType) -> Response:
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx, entry_type), entry_type)
    scope = Scope.of(filtered.request)
    results = search_carriers(_search(ctx, filtered.store), filtered.request, variant_id, entry_type, scope)
    return _respond(ctx, filtered, entry_type, results, scope)
