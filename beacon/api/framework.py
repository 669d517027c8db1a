"""Informational endpoints: /, /info, /service-info, /configuration, /map, /entry_types, /filtering_terms,
and the OpenAPI documents /map links to (/endpoints.json, /{entry type}/endpoints.json).

They are the same for every caller, so they never read the Authorization header: a network or a portal
sends the user's token with them, and no token, however bad, may cost a member its place in the network.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from beacon.api.context import BeaconContext, beacon_context, current_caller, parse_request
from beacon.auth import ANONYMOUS
from beacon.query import framework, openapi
from beacon.query.entries import Scope, find_record, is_test_dataset
from beacon.query.entry_types import EntryType
from beacon.query.filtering import filtering_terms_of

bp = Blueprint("framework", __name__)

_METHODS = ("GET", "POST")


@bp.route("", methods=_METHODS)
@bp.route("/", methods=_METHODS)
@bp.route("/info", methods=_METHODS)
def info() -> Response:
    """Who this beacon is (`beaconInfoResponse`)."""
    ctx = beacon_context()
    parse_request(ctx)
    return jsonify(framework.build_info(ctx.identity))


@bp.route("/service-info", methods=("GET",))
def service_info() -> Response:
    """The GA4GH service-info document."""
    return jsonify(framework.build_service_info(beacon_context().identity))


@bp.route("/configuration", methods=_METHODS)
def configuration() -> Response:
    """Entry types, maturity and security levels (`beaconConfigurationResponse`)."""
    ctx = beacon_context()
    parse_request(ctx)
    datasets = ctx.store.list_datasets()
    levels = sorted({ctx.policy.security_level(dataset["id"]) for dataset in datasets}) or ["CONTROLLED"]
    document = framework.build_configuration(ctx.identity, ctx.registry, levels, ctx.settings.filters_required)
    return jsonify(document)


@bp.route("/map", methods=_METHODS)
def beacon_map() -> Response:
    """Every endpoint this beacon serves, with absolute URLs (`beaconMapResponse`)."""
    ctx = beacon_context()
    parse_request(ctx)
    return jsonify(framework.build_map(ctx.identity, ctx.registry))


@bp.route("/entry_types", methods=_METHODS)
def entry_types() -> Response:
    """The entry types this beacon serves (`beaconEntryTypesResponse`)."""
    ctx = beacon_context()
    parse_request(ctx)
    return jsonify(framework.build_entry_types(ctx.identity, ctx.registry, ctx.settings.filters_required))


@bp.route("/filtering_terms", methods=_METHODS)
def filtering_terms() -> Response:
    """Terms, fields and custom filters of the datasets anonymous callers may see (one page: `skip`/`limit`)."""
    ctx = beacon_context()
    request = parse_request(ctx, limits=framework.TERMS_LIMITS)
    terms, resources = filtering_terms_of(ctx.store, dataset_ids=_listed_datasets(ctx, request.test_mode))
    page = framework.page_of(terms, request)
    return jsonify(framework.build_filtering_terms(ctx.identity, page, ctx.registry, resources))


def _listed_datasets(ctx: BeaconContext, test_mode: bool) -> list[str]:
    """The datasets whose terms `/filtering_terms` lists: those of the request's mode (test or not) that
    anonymous callers may see (the list is the same for every caller: no token is read)."""
    datasets = ctx.store.list_datasets()
    tests = {dataset["id"] for dataset in datasets if is_test_dataset(dataset, ctx.policy)}
    return [
        dataset["id"]
        for dataset in datasets
        if (dataset["id"] in tests) == test_mode and ctx.policy.ceiling(ANONYMOUS, dataset["id"]) is not None
    ]


@bp.route("/datasets/<entry_id>/filtering_terms", methods=_METHODS, defaults={"collection": "datasets"})
@bp.route("/cohorts/<entry_id>/filtering_terms", methods=_METHODS, defaults={"collection": "cohorts"})
def collection_filtering_terms(collection: str, entry_id: str) -> Response:
    """The filtering terms of one dataset (a cohort answers for its dataset); a 404 as the collection's."""
    ctx = beacon_context()
    request = parse_request(ctx, limits=framework.TERMS_LIMITS)
    entry_type = ctx.registry.by_path(collection)
    record = find_record(ctx.store, current_caller(ctx), entry_type, entry_id, Scope.of(request))
    terms, resources = filtering_terms_of(ctx.store, str(record.get("datasetId", record["id"])))
    page = framework.page_of(terms, request)
    return jsonify(framework.build_filtering_terms(ctx.identity, page, ctx.registry, resources))


@bp.route("/endpoints.json", methods=("GET",))
def framework_openapi() -> Response:
    """The OpenAPI document of the informational endpoints."""
    return _openapi(None)


def entry_type_openapi(entry_type: EntryType) -> Response:
    """The OpenAPI document of one entry type's endpoints (`openAPIEndpointsDefinition` in /map)."""
    return _openapi(entry_type)


def _openapi(entry_type: EntryType | None) -> Response:
    ctx = beacon_context()
    served = openapi.served_paths(ctx.registry)
    return jsonify(openapi.endpoints_document(entry_type, ctx.identity.base_url, served))
