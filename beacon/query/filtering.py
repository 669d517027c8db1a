"""A request's filters applied to the store: resolved once, then enforced on every per-dataset query.

`apply_filters` parses the request's filters (`beacon.query.filters`), expands ontology terms with
the loaded ontologies (`OntologyCache`) and groups the conditions by scope. `FilteredStore` is the
read side of a store with those conditions enforced, so the query functions (`query.entries`,
`query.variant_search`) answer filtered requests without knowing about filters.

Scopes other than the queried entity are applied through the links between records, per dataset:
- individuals <-> biosamples through the biosamples' `individualId`;
- runs and analyses -> individuals and biosamples through their `individualId` and `biosampleId`;
- datasets and cohorts: a dataset takes part only when it holds a matching record of the scope
  (for a dataset or cohort query: when it holds any matching individual, biosample, run or analysis);
- g_variants: only the variants carried by the matching biosamples (case-level data), or by the
  biosamples of the matching individuals. Variants have no ontology terms of their own, so filters
  without a scope on g_variants apply to individuals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from beacon.ontology import OntologyIndex
from beacon.query.entry_types import LINK_FIELDS
from beacon.query.filters import (
    CUSTOM_FILTERS,
    AlphanumericFilter,
    CustomFilterDefinition,
    Filter,
    FilterError,
    OntologyFilter,
    custom_filtering_terms,
    parse_filters,
    resolve,
)
from beacon.store.base import (
    Condition,
    FilteringTerm,
    FrequencySource,
    LinkCondition,
    RecordQuery,
    Store,
    VariantDocument,
    VariantQuery,
)

COLLECTIONS = frozenset({"datasets", "cohorts"})
CASES = frozenset({"individuals", "biosamples"})
EXPERIMENTS = frozenset({"runs", "analyses"})
ALL_RECORDS = 1_000_000_000
"""`limit` of the internal queries that follow links (every matching record is needed)."""

# Scopes each queried entity can be filtered by (itself excepted; see the module docstring).
_LINKED_SCOPES = MappingProxyType(
    {
        "individuals": CASES | COLLECTIONS,
        "biosamples": CASES | COLLECTIONS,
        "datasets": CASES | COLLECTIONS | EXPERIMENTS,
        "cohorts": CASES | COLLECTIONS | EXPERIMENTS,
        "g_variants": CASES | COLLECTIONS,
        "runs": CASES | COLLECTIONS,
        "analyses": CASES | COLLECTIONS,
    }
)


class OntologyCache:
    """The `OntologyIndex` of a store's loaded ontologies, rebuilt when `store.ontology_stamp()` changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: str | None = None
        self._index = OntologyIndex()

    def index(self, store: Store) -> OntologyIndex:
        """The hierarchy of every loaded ontology (one cheap stamp query when nothing changed)."""
        stamp = store.ontology_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._index = OntologyIndex.from_ontologies(store.ontologies())
                self._stamp = stamp
            return self._index


@dataclass(frozen=True)
class AppliedFilters:
    """A request's filters resolved for one queried entity: conditions by scope and warnings."""

    entity: str
    filters: tuple[Filter, ...] = ()
    conditions: Mapping[str, tuple[Condition, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def own(self) -> tuple[Condition, ...]:
        """Conditions on the queried entity itself."""
        return self.conditions.get(self.entity, ())

    @property
    def linked(self) -> dict[str, tuple[Condition, ...]]:
        """Conditions on other entities, by scope."""
        return {scope: items for scope, items in self.conditions.items() if scope != self.entity and items}

    def for_entity(self, entity: str) -> AppliedFilters:
        """The same conditions seen from another entity (e.g. the biosamples behind g_variants)."""
        return replace(self, entity=entity)

    def summary(self) -> tuple[str, ...]:
        """The filters as text (`NCIT:C16576`, `sex.label=female`) for `receivedRequestSummary.filters`.

        The Beacon v2 schemas type that list as strings (ga4gh-beacon/beacon-v2#176); `info` carries
        the spec's filter objects.
        """
        return tuple(filter_text(item) for item in self.filters)

    def info(self) -> dict[str, Any]:
        """The response `info` part: the filters as the spec's objects and the warnings, if any."""
        info: dict[str, Any] = {"receivedFilters": [item.to_json() for item in self.filters]} if self.filters else {}
        return {**info, "warnings": list(self.warnings)} if self.warnings else info


def filter_text(item: Filter) -> str:
    """A filter in the GET syntax: the id of an ontology or custom filter, `id OPERATOR value` otherwise."""
    return f"{item.id}{item.operator}{item.value}" if isinstance(item, AlphanumericFilter) else item.id


def apply_filters(
    items: Sequence[Any],
    entity: str,
    store: Store,
    ontologies: OntologyCache,
    *,
    custom: Mapping[str, CustomFilterDefinition] = CUSTOM_FILTERS,
    visible: Callable[[], Sequence[str]] | None = None,
) -> AppliedFilters:
    """Parse and resolve a request's filters for a query on `entity`; raises FilterError (400).

    `visible` gives the datasets the caller may see: only their terms count as known in the warnings,
    so a term that only a hidden dataset uses is as unknown as a term nobody uses.
    """
    filters = parse_filters(items, custom=custom)
    if not filters:
        return AppliedFilters(entity)
    ontology_filters = [item for item in filters if isinstance(item, OntologyFilter)]
    index = ontologies.index(store) if ontology_filters else OntologyIndex()
    unexpanded = [item for item in ontology_filters if not index.knows(item.id)]
    # Terms no ontology expands match exactly: the terms of the loaded records sharpen the warnings.
    known = _known_terms(store, visible) if unexpanded else None
    default_scope = "individuals" if entity == "g_variants" else entity
    conditions, warnings = resolve(filters, index, default_scope, custom=custom, known_terms=known)
    hints = _scope_hints(unexpanded, known or {}, default_scope)
    conditions = {scope: items for scope, items in conditions.items() if items}
    applied = AppliedFilters(entity, filters, conditions, (*warnings, *hints))
    _check_scopes(applied)
    return applied


def _known_terms(store: Store, visible: Callable[[], Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    if visible is None:
        return {term.id: term.scopes for term in store.filtering_terms()}
    terms = _union(store.filtering_terms(dataset_id=dataset_id) for dataset_id in visible())
    return {term.id: term.scopes for term in terms}


def _scope_hints(
    unexpanded: Iterable[OntologyFilter], known: Mapping[str, tuple[str, ...]], default_scope: str
) -> list[str]:
    hints = []
    for item in unexpanded:
        scope, scopes = item.scope or default_scope, known.get(item.id, ())
        if scopes and scope not in scopes:
            hints.append(
                f"filter {item.id}: no {scope} record carries this term (it occurs in {', '.join(scopes)}); "
                "give the filter a scope to query through those records"
            )
    return hints


def _check_scopes(applied: AppliedFilters) -> None:
    if applied.own and applied.entity == "g_variants":
        raise FilterError(
            "g_variants", "filters on the variants' own fields are not supported; use the request parameters"
        )
    allowed = _LINKED_SCOPES.get(applied.entity, frozenset())
    for scope in applied.linked:
        if scope not in allowed:
            shown = next((item.id for item in applied.filters if item.scope == scope), scope)
            raise FilterError(shown, f"a filter scoped to {scope} cannot be applied to {applied.entity}")


class FilteredStore:
    """The read side of a store with a request's filters enforced on the queried entity.

    One instance serves one request: the records found through links are kept per dataset, so
    the count and the page of a dataset do not look them up twice.
    """

    def __init__(self, store: Store, applied: AppliedFilters) -> None:
        self.store = store
        self.applied = applied
        self._carriers: dict[str, frozenset[str] | None] = {}

    def list_datasets(self) -> list[dict[str, Any]]:
        """All dataset records (unfiltered: each dataset answers for itself)."""
        return self.store.list_datasets()

    def count_records(self, query: RecordQuery) -> int:
        """How many records match the query and the filters."""
        restricted = self.restrict(query)
        return 0 if restricted is None else self.store.count_records(restricted)

    def find_records(self, query: RecordQuery) -> list[dict[str, Any]]:
        """The records matching the query and the filters."""
        restricted = self.restrict(query)
        return [] if restricted is None else self.store.find_records(restricted)

    def count_variants(self, query: VariantQuery) -> int:
        """How many variants match the query and are carried by the biosamples the filters select."""
        restricted = self._restrict_variants(query)
        return 0 if restricted is None else self.store.count_variants(restricted)

    def find_variants(self, query: VariantQuery) -> list[VariantDocument]:
        """The variants matching the query and carried by the biosamples the filters select."""
        restricted = self._restrict_variants(query)
        return [] if restricted is None else self.store.find_variants(restricted)

    def variant_carriers(self, dataset_id: str, variant_id: str) -> list[str]:
        """Biosample ids carrying a variant (unfiltered; the carriers' records are filtered)."""
        return self.store.variant_carriers(dataset_id, variant_id)

    def variant_assemblies(self) -> set[str]:
        """Assemblies of the loaded variants."""
        return self.store.variant_assemblies()

    def variant_annotations(self, dataset_id: str | None = None) -> set[str]:
        """What the loaded variants carry (unfiltered)."""
        return self.store.variant_annotations(dataset_id)

    def variant_frequency_source(self, dataset_id: str) -> FrequencySource | None:
        """The source the dataset's variants were loaded with (unfiltered)."""
        return self.store.variant_frequency_source(dataset_id)

    def restrict(self, query: RecordQuery) -> RecordQuery | None:
        """The query narrowed by the filters (None: nothing in this dataset can match)."""
        if query.entity != self.applied.entity:
            return query
        return restrict_records(self.store, self.applied, query)

    def _restrict_variants(self, query: VariantQuery) -> VariantQuery | None:
        if self.applied.entity != "g_variants" or not self.applied.conditions:
            return query
        if query.dataset_id not in self._carriers:
            self._carriers[query.dataset_id] = selected_biosamples(self.store, self.applied, query.dataset_id)
        biosamples = self._carriers[query.dataset_id]
        if biosamples is None:
            return query
        if query.biosample_ids is not None:
            biosamples &= query.biosample_ids
        return replace(query, biosample_ids=biosamples) if biosamples else None


def restrict_records(store: Store, applied: AppliedFilters, query: RecordQuery) -> RecordQuery | None:
    """`query` with the conditions on its entity added and the other scopes applied through links."""
    query = replace(query, conditions=(*query.conditions, *applied.own))
    for scope, conditions in applied.linked.items():
        linked = _through_link(store, query, scope, conditions)
        if linked is None:
            return None
        query = linked
    return query


def _through_link(
    store: Store, query: RecordQuery, scope: str, conditions: tuple[Condition, ...]
) -> RecordQuery | None:
    matching = RecordQuery(scope, query.dataset_id, conditions=conditions, limit=ALL_RECORDS)
    if scope in COLLECTIONS or query.entity in COLLECTIONS:
        return query if store.count_records(matching) else None
    if (query.entity, scope) == ("individuals", "biosamples"):
        return _narrowed(query, record_ids=store.record_links(matching, "individualId"))
    if (query.entity, scope) == ("biosamples", "individuals"):
        return _narrowed(query, individual_ids=store.record_links(matching, "id"))
    if query.entity in EXPERIMENTS and scope in CASES:
        # A run or an analysis names its individual and its biosample.
        ids = store.record_links(matching, "id")
        link = LinkCondition(LINK_FIELDS[scope], ids)
        return replace(query, conditions=(*query.conditions, link)) if ids else None
    raise FilterError(scope, f"a filter scoped to {scope} cannot be applied to {query.entity}")


def _narrowed(
    query: RecordQuery, *, record_ids: frozenset[str] | None = None, individual_ids: frozenset[str] | None = None
) -> RecordQuery | None:
    if record_ids is not None:
        record_ids = record_ids if query.record_ids is None else record_ids & query.record_ids
        return replace(query, record_ids=record_ids) if record_ids else None
    if individual_ids is not None:
        individual_ids = individual_ids if query.individual_ids is None else individual_ids & query.individual_ids
        return replace(query, individual_ids=individual_ids) if individual_ids else None
    return query


def selected_biosamples(store: Store, applied: AppliedFilters, dataset_id: str) -> frozenset[str] | None:
    """Ids of the biosamples of a dataset the filters select (None: the filters select no biosamples)."""
    if not CASES & set(applied.conditions):
        # Only dataset or cohort conditions: the dataset takes part whole, or not at all.
        query = restrict_records(store, applied.for_entity("datasets"), RecordQuery("datasets", dataset_id))
        return None if query is not None and store.count_records(query) else frozenset()
    biosamples = restrict_records(
        store, applied.for_entity("biosamples"), RecordQuery("biosamples", dataset_id, limit=ALL_RECORDS)
    )
    return frozenset() if biosamples is None else store.record_links(biosamples, "id")


def filtering_terms_of(
    store: Store, dataset_id: str | None = None, *, dataset_ids: Sequence[str] | None = None
) -> tuple[list[FilteringTerm], list[dict[str, str]]]:
    """What `/filtering_terms` lists (of one dataset, of some, or all): terms and the loaded ontologies' resources.

    Terms are the ontology terms of the loaded records, their field paths worth filtering
    (`alphanumeric`) and the custom filters; all computed from the store, so loading data refreshes them.
    """
    if dataset_ids is not None:
        terms = _union(store.filtering_terms(dataset_id=one) for one in dataset_ids)
        fields = _union(store.filtering_fields(dataset_id=one) for one in dataset_ids)
    else:
        terms = store.filtering_terms(dataset_id=dataset_id) if dataset_id else store.filtering_terms()
        fields = store.filtering_fields(dataset_id=dataset_id)
    fields = [field for field in fields if _worth_filtering(field.id)]
    resources = [ontology.resource.to_json() for ontology in store.ontologies(with_terms=False)]
    return [*terms, *fields, *custom_filtering_terms()], resources


def _union(lists: Iterable[list[FilteringTerm]]) -> list[FilteringTerm]:
    """Terms of several datasets as one list ordered by id: scopes merged, the first label kept."""
    merged: dict[str, FilteringTerm] = {}
    for term in (term for terms in lists for term in terms):
        known = merged.get(term.id)
        if known is None:
            merged[term.id] = term
        else:
            scopes = tuple(sorted({*known.scopes, *term.scopes}))
            merged[term.id] = replace(known, label=known.label or term.label, scopes=scopes)
    return [merged[term_id] for term_id in sorted(merged)]


def _worth_filtering(path: str) -> bool:
    # Record ids and links (`id`, `datasetId`, `individualId`...) identify records rather than describe them.
    name = path.rsplit(".", 1)[-1]
    return name not in ("id", "_id") and not name.endswith("Id")
