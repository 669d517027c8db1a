"""Informational endpoints: /, /info, /service-info, /configuration, /map, /entry_types, /filtering_terms."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from beacon.api.context import beacon_context, parse_request
from beacon.query import framework

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
    return jsonify(framework.build_configuration(ctx.identity, ctx.registry, levels))


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
    return jsonify(framework.build_entry_types(ctx.identity, ctx.registry))


@bp.route("/filtering_terms", methods=_METHODS)
def filtering_terms() -> Response:
    """The filtering terms present in the loaded data (`beaconFilteringTermsResponse`)."""
    ctx = beacon_context()
    parse_request(ctx)
    terms = ctx.store.filtering_terms()
    return jsonify(framework.build_filtering_terms(ctx.identity, terms, ctx.registry))
