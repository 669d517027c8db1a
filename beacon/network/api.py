"""The hub's Beacon API under /api: informational endpoints from the members' metadata, and every entry
endpoint (GET and POST) answered by fanning the request out to the members (beacon.network.queries).

Informational endpoints never read the Authorization header, as on a beacon.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from beacon.api.context import read_json_body
from beacon.errors import NotFound, ServiceUnavailable
from beacon.network import NetworkContext, documents, queries
from beacon.network.metadata import MemberMetadata
from beacon.query import framework, openapi
from beacon.query.requests import BeaconRequest, parse_get, parse_post
from beacon.schemas import default_validator

bp = Blueprint("network", __name__)

_METHODS = ("GET", "POST")


def network_context() -> NetworkContext:
    """The context of the hub handling the current request."""
    return current_app.extensions["beacon"]


def _members(ctx: NetworkContext) -> tuple[MemberMetadata, ...]:
    if not ctx.board.fetched:
        raise ServiceUnavailable("the hub is still fetching its members' metadata; try again shortly")
    return ctx.board.current


def _framework_request(ctx: NetworkContext) -> BeaconRequest:
    """The request of an informational endpoint (paging of filtering terms), checked as a beacon checks it."""
    if request.method == "POST":
        body = read_json_body(ctx.request_limits)
        return parse_post(body, validator=default_validator(), limits=framework.TERMS_LIMITS)
    return parse_get(request.args.items(multi=True), limits=framework.TERMS_LIMITS)


@bp.route("", methods=_METHODS)
@bp.route("/", methods=_METHODS)
@bp.route("/info", methods=_METHODS)
def info() -> Response:
    """The hub's identity, with each member's /info and the problems found in its metadata."""
    ctx = network_context()
    _framework_request(ctx)
    return jsonify(documents.hub_info(ctx.identity, ctx.board.current))


@bp.route("/service-info", methods=("GET",))
def service_info() -> Response:
    """The GA4GH service-info document of the hub."""
    return jsonify(framework.build_service_info(network_context().identity))


@bp.route("/configuration", methods=_METHODS)
def configuration() -> Response:
    """The entry types the members offer, with their security levels."""
    ctx = network_context()
    _framework_request(ctx)
    return jsonify(documents.hub_configuration(ctx.identity, _members(ctx)))


@bp.route("/map", methods=_METHODS)
def beacon_map() -> Response:
    """The hub's endpoints: the default-model entry types the members' maps offer, at the hub's URLs."""
    ctx = network_context()
    _framework_request(ctx)
    return jsonify(framework.build_map(ctx.identity, documents.hub_registry(_members(ctx))))


@bp.route("/entry_types", methods=_METHODS)
def entry_types() -> Response:
    """The entry types the members offer."""
    ctx = network_context()
    _framework_request(ctx)
    return jsonify(framework.build_entry_types(ctx.identity, documents.hub_registry(_members(ctx))))


@bp.route("/filtering_terms", methods=_METHODS)
def filtering_terms() -> Response:
    """The union of the members' filtering terms (by id, scopes merged), one page of `skip`/`limit`."""
    ctx = network_context()
    paging = _framework_request(ctx)
    listed = [m.documents["filtering_terms"] for m in _members(ctx) if "filtering_terms" in m.documents]
    terms, resources = documents.merged_filtering_terms(listed)
    page = framework.page_of(terms, paging)
    return jsonify(documents.hub_filtering_terms(ctx.identity, page, resources))


@bp.route("/endpoints.json", methods=("GET",))
def framework_openapi() -> Response:
    """The OpenAPI document of the informational endpoints."""
    ctx = network_context()
    served = openapi.served_paths(documents.hub_registry(_members(ctx)))
    return jsonify(openapi.endpoints_document(None, ctx.identity.base_url, served))


@bp.route("/<path>/endpoints.json", methods=("GET",))
def entry_type_openapi(path: str) -> Response:
    """The OpenAPI document of one entry type the hub serves."""
    ctx = network_context()
    registry = documents.hub_registry(_members(ctx))
    try:
        entry_type = registry.by_path(path)
    except KeyError:
        raise NotFound("no such endpoint") from None
    served = openapi.served_paths(registry)
    return jsonify(openapi.endpoints_document(entry_type, ctx.identity.base_url, served))


@bp.route("/<path>", methods=_METHODS)
@bp.route("/<path>/<entry_id>", methods=_METHODS)
@bp.route("/<path>/<entry_id>/<child>", methods=_METHODS)
def entries(path: str, entry_id: str | None = None, child: str | None = None) -> Response:
    """An entry-type query, asked of every member whose map offers it, answered as one."""
    ctx = network_context()
    return jsonify(queries.answer(ctx, _members(ctx), path, entry_id, child))
