"""Entry-type queries of the hub: route the request to each member by its map, forward it unchanged
(method, query string, body, the caller's Authorization header, the request id), and merge the answers.

A request every answering member refused (each with the same 4xx) is that error at the hub too:
a bad request is the caller's, whichever beacon noticed it first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from flask import g, request

from beacon.api.context import read_json_body
from beacon.errors import BeaconError, NotFound
from beacon.logs import REQUEST_ID_HEADER
from beacon.network import NetworkContext, documents, merge
from beacon.network.fanout import ANSWERED, ERROR, Call, Reply
from beacon.network.metadata import MemberMetadata
from beacon.query import framework
from beacon.query.entry_types import EntryType, EntryTypeRegistry
from beacon.query.received import received_summary
from beacon.query.requests import parse_get, parse_post
from beacon.schemas import default_validator

log = logging.getLogger(__name__)

FORWARDED_HEADERS = ("Authorization", "Content-Type")
FILTERING_TERMS = "filtering_terms"


def answer(
    ctx: NetworkContext, members: Sequence[MemberMetadata], path: str, entry_id: str | None, child: str | None
) -> dict[str, Any]:
    """The hub's answer to an entry-type query on `/{path}[/{entry_id}[/{child}]]`."""
    registry = documents.hub_registry(members)
    entry_type, child_id = _endpoint(registry, path, entry_id, child)
    body = read_json_body(ctx.request_limits) if request.method == "POST" else None
    received = received_summary(request.args.items(multi=True), body, default_limit=ctx.settings.default_limit)
    calls, skipped = _calls(members, entry_type.id, entry_id, child_id)
    replies = ctx.fan_out.ask_all(calls, ctx.settings.network_budget)
    if child_id == FILTERING_TERMS:
        return _filtering_terms(ctx, replies, body)
    collections = entry_type.is_collection and child is None
    judged = [merge.judge(reply, collections) for reply in replies]
    _log_failures(judged)
    _raise_if_all_refused(judged)
    if collections:
        return merge.merged_collections(ctx.identity.id, received, judged, skipped)
    return merge.merged_resultsets(ctx.identity.id, received, judged, skipped)


def _endpoint(
    registry: EntryTypeRegistry, path: str, entry_id: str | None, child: str | None
) -> tuple[EntryType, str | None]:
    """The entry type of the path and, for a related endpoint, the child's entry type id (or filtering_terms)."""
    try:
        entry_type = registry.by_path(path)
    except KeyError:
        raise NotFound("no such endpoint (no member offers it)") from None
    if child is None:
        return entry_type, None
    if child == FILTERING_TERMS and entry_type.is_collection:
        return entry_type, FILTERING_TERMS
    if child not in {relation.child for relation in registry.relations(entry_type)}:
        raise NotFound("no such endpoint (no member offers it)")
    return entry_type, registry.by_path(child).id


def _calls(
    members: Sequence[MemberMetadata], entry_type: str, entry_id: str | None, child: str | None
) -> tuple[list[Call], list[dict[str, Any]]]:
    """The call to each member whose map offers this endpoint, and the report of the others."""
    query = request.query_string.decode("latin-1")
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    headers |= {"Accept": "application/json", REQUEST_ID_HEADER: g.get("request_id", "")}
    body = request.get_data(cache=True) if request.method == "POST" else None
    method = "GET" if request.method == "HEAD" else request.method  # a HEAD's answer is the GET's, unsent
    calls, skipped = [], []
    for metadata in members:
        if not metadata.answered:
            reason = "did not answer its /info at the last metadata fetch: not queried"
            skipped.append(merge.skipped_member(metadata.member, reason, outcome=ERROR))
            continue
        if not metadata.endpoint_sets:
            skipped.append(merge.skipped_member(metadata.member, "no valid /map: not queried"))
            continue
        url = metadata.route(entry_type, entry_id, child)
        if url is None:
            skipped.append(merge.skipped_member(metadata.member, "its /map does not offer this endpoint"))
            continue
        target = f"{url}?{query}" if query else url
        calls.append(Call(metadata.member, target, method, body, headers))
    return calls, skipped


def _log_failures(judged: Sequence[merge.Judged]) -> None:
    for item in judged:
        if item.outcome != ANSWERED:
            member = item.reply.member
            log.warning("member %s (%s): %s: %s", member.name, member.url, item.outcome, item.message)


def _raise_if_all_refused(judged: Sequence[merge.Judged]) -> None:
    if any(item.outcome == ANSWERED for item in judged):
        return
    statuses = {item.reply.status for item in judged if item.outcome == ERROR and item.reply.status is not None}
    if len(statuses) == 1 and 400 <= (status := statuses.pop()) < 500:
        first = next(item for item in judged if item.reply.status == status)
        error = BeaconError(f"every member that answered refused the request: {first.message}")
        error.status = status
        raise error


def _filtering_terms(ctx: NetworkContext, replies: Sequence[Reply], body: Any) -> dict[str, Any]:
    """The union of the filtering terms the members answered for one dataset or cohort."""
    listed = [reply.document for reply in replies if _is_terms_document(reply)]
    if not listed:
        raise NotFound("no member knows this collection")
    terms, resources = documents.merged_filtering_terms(listed)
    if body is not None:
        paging = parse_post(body, validator=default_validator(), limits=framework.TERMS_LIMITS)
    else:
        paging = parse_get(request.args.items(multi=True), limits=framework.TERMS_LIMITS)
    return documents.hub_filtering_terms(ctx.identity, framework.page_of(terms, paging), resources)


def _is_terms_document(reply: Reply) -> bool:
    document = reply.document
    response = document.get("response") if isinstance(document, Mapping) else None
    return (
        reply.outcome == ANSWERED
        and reply.status == 200
        and isinstance(response, Mapping)
        and isinstance(response.get("filteringTerms"), list)
    )
