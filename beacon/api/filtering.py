"""Filters at the HTTP boundary: apply a request's filters, enforce `nonFilteredQueriesAllowed`, echo them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from flask import current_app

from beacon.api.context import BeaconContext, current_caller
from beacon.errors import BadRequest
from beacon.query.entries import Scope, visible_datasets
from beacon.query.entry_types import EntryType
from beacon.query.filtering import AppliedFilters, FilteredStore, OntologyCache, apply_filters
from beacon.query.limits import check_filter_count
from beacon.query.requests import BeaconRequest

_CACHE_KEY = "beacon.ontology_cache"


@dataclass(frozen=True)
class FilteredRequest:
    """A request whose filters are resolved: the store to query and what to echo and warn."""

    request: BeaconRequest  # filters replaced by their text forms, as `receivedRequestSummary` echoes them
    applied: AppliedFilters
    store: FilteredStore

    def info(self, *warnings: str) -> dict[str, Any]:
        """The response `info`: the filters as spec objects, their warnings and any further ones."""
        info = self.applied.info()
        every = [*info.pop("warnings", []), *warnings]
        return {**info, "warnings": every} if every else info


def ontology_cache() -> OntologyCache:
    """The app's ontology hierarchy cache (one per app, rebuilt when ontologies are loaded)."""
    return current_app.extensions.setdefault(_CACHE_KEY, OntologyCache())


def visible_dataset_ids(ctx: BeaconContext, test_mode: bool) -> list[str]:
    """The datasets of the request's mode (test or not) the current caller may see at any granularity."""
    scope = Scope(test_mode=test_mode)
    return [dataset.dataset_id for dataset in visible_datasets(ctx.store, current_caller(ctx), scope)]


def filter_request(
    ctx: BeaconContext, request: BeaconRequest, entry_type: EntryType, *, listing: bool = True
) -> FilteredRequest:
    """Resolve the request's filters for an entry type; 400 for malformed filters or a required filter missing.

    `listing` is false for single-record lookups (`/individuals/{id}`), which need no filter.
    """
    check_filter_count(len(request.filters), ctx.request_limits)
    visible = partial(visible_dataset_ids, ctx, request.test_mode)  # asked only for unknown terms
    applied = apply_filters(request.filters, entry_type.path, ctx.store, ontology_cache(), visible=visible)
    if listing and not applied.filters and entry_type.path in ctx.settings.filters_required:
        raise BadRequest(
            f"{entry_type.path} queries need at least one filter on this beacon (nonFilteredQueriesAllowed "
            "is false); see /filtering_terms"
        )
    echoed = replace(request, filters=applied.summary())
    return FilteredRequest(request=echoed, applied=applied, store=FilteredStore(ctx.store, applied))
