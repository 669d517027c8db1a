"""Entry-type endpoints for metadata: /datasets, /cohorts, /individuals, /biosamples, /runs, /analyses and
their relations.

The routes are declared from the entry type registry, so /map and the routes cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from flask import Blueprint, Response, jsonify

from beacon.api import framework, g_variants
from beacon.api.context import BeaconContext, beacon_context, current_caller, parse_request
from beacon.api.filtering import FilteredRequest, filter_request
from beacon.query import entries, responses
from beacon.query.carriers import CarrierQuery
from beacon.query.entry_types import EntryType, EntryTypeRegistry
from beacon.query.granularity import Granularity, narrowest
from beacon.query.relations import link_to
from beacon.query.requests import BeaconRequest
from beacon.query.responses import DatasetResult
from beacon.query.variants import has_variant_parameters, parse_variant_request
from beacon.store.base import RecordQuery

_METHODS = ("GET", "POST")


def list_entries(entry_type: EntryType) -> Response:
    """All records of an entry type in the datasets the caller may see, filtered."""
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx, entry_type), entry_type)
    caller = current_caller(ctx)
    scope = entries.Scope.of(filtered.request)
    if entry_type.is_collection:
        total, page = entries.list_collection(filtered.store, caller, entry_type, filtered.request, scope)
        return _collection_response(ctx, entry_type, filtered, total, page)
    carriers = carrier_query(ctx, entry_type, filtered.request)
    results = entries.query_records(filtered.store, caller, entry_type, filtered.request, scope, carriers=carriers)
    return _resultsets_response(ctx, entry_type, filtered, results, scope)


def carrier_query(ctx: BeaconContext, entry_type: EntryType, request: BeaconRequest) -> CarrierQuery | None:
    """The variant query of a request on individuals or biosamples (None when it names no variant)."""
    if not has_variant_parameters(request.request_parameters):
        return None
    variants = parse_variant_request(request.request_parameters, ctx.store.variant_assemblies())
    return CarrierQuery(ctx.store, entry_type.path, variants)


def _resultsets_response(
    ctx: BeaconContext,
    entry_type: EntryType,
    filtered: FilteredRequest,
    results: list[DatasetResult],
    scope: entries.Scope,
) -> Response:
    warnings = [
        *current_caller(ctx).warnings,
        *entries.unavailable_selected(scope, results),
        *(str(result.info["error"]["errorMessage"]) for result in results if not result.answered),
    ]
    document = responses.build_resultsets_response(
        ctx.identity.id, filtered.request, entry_type, results, filtered.info(*warnings)
    )
    return jsonify(document)


def _collection_response(
    ctx: BeaconContext, entry_type: EntryType, filtered: FilteredRequest, total: int, page: list[dict]
) -> Response:
    granularity = narrowest(filtered.request.requested_granularity, entry_type.max_granularity)
    document = responses.build_collections_response(
        ctx.identity.id,
        filtered.request,
        entry_type,
        granularity,
        total,
        _with_security(ctx, entry_type, page),
        filtered.info(*current_caller(ctx).warnings),
    )
    return jsonify(document)


def _with_security(ctx: BeaconContext, entry_type: EntryType, records: list[dict]) -> list[dict]:
    if entry_type.path != "datasets":
        return records
    # Each dataset says how it may be accessed (the spec's `info` is free-form).
    # The re-identification defences too (`privacy`: query budgets, rare-allele protection, noisy counts).
    return [{**record, "info": _dataset_info(ctx, record)} for record in records]


def _dataset_info(ctx: BeaconContext, record: dict) -> dict:
    info = {**(record.get("info") or {}), "securityLevel": ctx.policy.security_level(record["id"])}
    privacy = ctx.policy.privacy_info(record["id"]) if hasattr(ctx.policy, "privacy_info") else {}
    if privacy:
        info["privacy"] = privacy
    return info


def get_entry(entry_type: EntryType, entry_id: str) -> Response:
    """One record by id (404 if unknown; filters or a variant it lacks make `exists` false instead)."""
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx, entry_type), entry_type, listing=False)
    caller = current_caller(ctx)
    if entry_type.is_collection:
        scope = entries.Scope.of(filtered.request)
        record = entries.find_record(ctx.store, caller, entry_type, entry_id, scope)
        query = RecordQuery(entry_type.path, str(record.get("datasetId", record["id"])), record_id=entry_id)
        page = [record] if filtered.store.count_records(query) else []
        return _collection_response(ctx, entry_type, filtered, len(page), page)
    scope = entries.Scope.of(filtered.request, record_id=entry_id)
    carriers = carrier_query(ctx, entry_type, filtered.request)
    narrowed = bool(filtered.applied.filters) or carriers is not None
    if narrowed:  # unknown ids are still a 404, whatever the filters or the variant
        unfiltered = replace(filtered.request, filters=(), requested_granularity=Granularity.BOOLEAN)
        entries.query_records(ctx.store, caller, entry_type, unfiltered, scope)
    results = entries.query_records(
        filtered.store, caller, entry_type, filtered.request, scope, require_match=not narrowed, carriers=carriers
    )
    return _resultsets_response(ctx, entry_type, filtered, results, scope)


def list_related(parent: EntryType, child: EntryType, entry_id: str) -> Response:
    """Records of `child` within one dataset or cohort (e.g. /datasets/{id}/individuals), or belonging to
    one record (e.g. /runs/{id}/analyses: the analyses whose `runId` is the run's id)."""
    ctx = beacon_context()
    filtered = filter_request(ctx, parse_request(ctx, child), child)
    caller = current_caller(ctx)
    dataset_id = _dataset_of(ctx, caller, parent, entry_id, entries.Scope.of(filtered.request))
    scope = entries.Scope.of(filtered.request, dataset_ids=(dataset_id,), explicit=True)
    links = () if parent.is_collection else (link_to(parent, entry_id),)
    carriers = carrier_query(ctx, child, filtered.request)
    results = entries.query_records(filtered.store, caller, child, filtered.request, scope, links, carriers=carriers)
    return _resultsets_response(ctx, child, filtered, results, scope)


def _dataset_of(
    ctx: BeaconContext, caller: entries.Caller, parent: EntryType, entry_id: str, scope: entries.Scope
) -> str:
    if parent.path == "datasets":
        return entry_id
    record = entries.find_record(ctx.store, caller, parent, entry_id, scope)
    return str(record["datasetId"])


def _bind(view: Callable[..., Response], *bound: EntryType) -> Callable[..., Response]:
    def bound_view(**kwargs: str) -> Response:
        return view(*bound, **kwargs)

    return bound_view


def create_blueprint(registry: EntryTypeRegistry) -> Blueprint:
    """A blueprint with the routes of every metadata entry type in the registry and their OpenAPI documents."""
    bp = Blueprint("entries", __name__)
    for entry_type in registry.entry_types:
        path = entry_type.path
        openapi = _bind(framework.entry_type_openapi, entry_type)
        bp.add_url_rule(f"/{path}/endpoints.json", f"{path}_openapi", openapi, methods=("GET",))
        if path == "g_variants":
            continue  # served by beacon.api.g_variants
        bp.add_url_rule(f"/{path}", f"{path}_list", _bind(list_entries, entry_type), methods=_METHODS)
        bp.add_url_rule(f"/{path}/<entry_id>", f"{path}_one", _bind(get_entry, entry_type), methods=_METHODS)
        for relation in registry.relations(entry_type):
            child = registry.by_path(relation.child)
            if child.path != "g_variants":
                view = _bind(list_related, entry_type, child)
            elif entry_type.is_collection:
                continue  # /datasets/{id}/g_variants: served by beacon.api.g_variants
            else:
                view = _bind(g_variants.record_variants, entry_type)
            bp.add_url_rule(f"/{path}/<entry_id>/{child.path}", f"{path}_{child.path}", view, methods=_METHODS)
    return bp
