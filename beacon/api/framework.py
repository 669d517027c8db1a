"""Informational endpoints: /, /info, /service-info, /configuration, /map, /entry_types, /filtering_terms.

They are the same for every caller, so they never read the Authorization header: a network or a portal
sends the user's token with them, and no token, however bad, may cost a member its place in the network.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from beacon.api.context import beacon_context, current_caller, parse_request
from beacon.auth import ANONYMOUS
from beacon.query import framework
from beacon.query.entries import find_collection_record
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
    """Terms, fields and custom filters of the datasets anonymous callers may see, and the loaded ontologies."""
    ctx = beacon_context()
    parse_request(ctx)
    # The same for every caller (no token is read): the terms of the datasets anonymous callers may see.
    datasets = [dataset["id"] for dataset in ctx.store.list_datasets()]
    public = [dataset_id for dataset_id in datasets if ctx.policy.ceiling(ANONYMOUS, dataset_id) is not None]
    terms, resources = filtering_terms_of(ctx.store, dataset_ids=public)
    return jsonify(framework.build_filtering_terms(ctx.identity, terms, ctx.registry, resources))


@bp.route("/datasets/<entry_id>/filtering_terms", methods=_METHODS, defaults={"collection": "datasets"})
@bp.route("/cohorts/<entry_id>/filtering_terms", methods=_METHODS, defaults={"collection": "cohorts"})
def collection_filtering_terms(collection: str, entry_id: str) -> Response:
    """The filtering terms of one dataset (a cohort answers for its dataset); 403/404 as the collection's."""
    ctx = beacon_context()
    parse_request(ctx)
    entry_type = ctx.registry.by_path(collection)
    record = find_collection_record(ctx.store, current_caller(ctx), entry_type, entry_id)
    terms, resources = filtering_terms_of(ctx.store, str(record.get("datasetId", record["id"])))
    return jsonify(framework.build_filtering_terms(ctx.identity, terms, ctx.registry, resources))
