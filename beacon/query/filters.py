"""Beacon v2 filters: parsed into typed, immutable filters, then resolved into store conditions.

**Syntax.** GET `filters=` is a comma list (the parameter may repeat): a CURIE (`NCIT:C16576`) is an
ontology filter, a custom id (see `CUSTOM_FILTERS`) a custom filter, and `path OP value`
(`sex.label=female`, `diseases.ageOfOnset.iso8601duration<=P40Y`) an alphanumeric filter; `!=` is
read as `!`. POST `query.filters` holds the spec's objects: OntologyFilter `{id,
includeDescendantTerms=true, similarity=exact, scope}`, AlphanumericFilter `{id, operator, value,
scope}`, CustomFilter `{id, scope}`. Filters are AND-combined. Malformed filters raise `FilterError`
(HTTP 400) naming the filter.

**Alphanumeric semantics** (`ValueCondition`, compared with `indexing.extract_values` leaves):
a value that is an ISO 8601 duration compares by length in days with duration leaves only; a
number compares numerically with JSON-number leaves only; any other value is a string compared
exactly (case-sensitive) with string leaves, `%` matching any run of characters, and only `=` and
`!` allowed. `=`, `<`, `>`, `<=`, `>=` hold when ANY leaf at the path satisfies them; `!` is the
negation of `=` (no leaf at the path equals the value; records lacking the path match).
`indexing.value_matches` is the reference implementation the stores must agree with.

**Ontology semantics** (`TermCondition`): a record matches when it carries any of the resolved term
ids anywhere (`indexing.extract_terms`). `similarity` widens the term before descendants are added:
`exact` and `high` keep the term; `medium` adds its siblings (other children of its parents); `low`
also adds its parents and their siblings. `includeDescendantTerms` then adds every descendant of
those terms. Terms no loaded ontology knows match exactly, with a warning when they cannot match.

**Scopes.** Each filter applies to its `scope` entity (default: the queried entity); `resolve`
groups conditions by scope so the API can apply the other entities' conditions through their links.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from beacon.errors import BadRequest
from beacon.query.durations import duration_days, is_duration
from beacon.query.indexing import is_curie
from beacon.store.base import Condition, FilteringTerm, TermCondition, ValueCondition

OPERATORS = ("=", "<", ">", "!", ">=", "<=")
SIMILARITIES = ("exact", "high", "medium", "low")
ENTITIES = ("individuals", "biosamples", "cohorts", "datasets", "g_variants", "analyses", "runs")

# Scope spellings accepted in requests (lower-cased): entity names, spec entry type ids and plurals.
_SCOPE_NAMES = MappingProxyType(
    {
        "individuals": "individuals",
        "individual": "individuals",
        "biosamples": "biosamples",
        "biosample": "biosamples",
        "cohorts": "cohorts",
        "cohort": "cohorts",
        "datasets": "datasets",
        "dataset": "datasets",
        "g_variants": "g_variants",
        "genomicvariations": "g_variants",
        "genomicvariation": "g_variants",
        "analyses": "analyses",
        "analysis": "analyses",
        "runs": "runs",
        "run": "runs",
    }
)
_FIELD_PATH = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
_GET_COMPARISON = re.compile(r"^(?P<id>[^<>=!]+?)\s*(?P<op>>=|<=|!=|=|<|>|!)\s*(?P<value>.*)$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


class FilterError(BadRequest):
    """A malformed filter (HTTP 400); the message names the filter and what is wrong with it."""

    def __init__(self, filter_text: str, reason: str) -> None:
        super().__init__(f"filter {filter_text!r}: {reason}")
        self.filter_text = filter_text
        self.reason = reason


@dataclass(frozen=True)
class OntologyFilter:
    """An ontology term filter; `scope` is an entity name, None for the queried entity."""

    id: str
    include_descendant_terms: bool = True
    similarity: str = "exact"
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The spec's OntologyFilter object, as echoed in `receivedRequestSummary`."""
        body = {"id": self.id, "includeDescendantTerms": self.include_descendant_terms}
        return _with_scope({**body, "similarity": self.similarity}, self.scope)


@dataclass(frozen=True)
class AlphanumericFilter:
    """A comparison on a field path; `value` is the text as given (number, duration or string)."""

    id: str
    operator: str
    value: str
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The spec's AlphanumericFilter object."""
        return _with_scope({"id": self.id, "operator": self.operator, "value": self.value}, self.scope)

    def condition(self) -> ValueCondition:
        """The store condition; raises FilterError on a type error."""
        return _value_condition(self)


@dataclass(frozen=True)
class CustomFilter:
    """A filter id this beacon defines (see `CUSTOM_FILTERS`)."""

    id: str
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The spec's CustomFilter object."""
        return _with_scope({"id": self.id}, self.scope)


Filter = OntologyFilter | AlphanumericFilter | CustomFilter


def _with_scope(body: dict[str, Any], scope: str | None) -> dict[str, Any]:
    return {**body, "scope": scope} if scope else body


@dataclass(frozen=True)
class CustomFilterDefinition:
    """A node-defined filter id: the entity it applies to and the conditions it stands for."""

    id: str
    entity: str
    label: str
    conditions: tuple[Condition, ...]


def _adult_onset(operator: str) -> ValueCondition:
    return ValueCondition("diseases.ageOfOnset.iso8601duration", operator, duration_days("P18Y"), True)


CUSTOM_FILTERS: Mapping[str, CustomFilterDefinition] = MappingProxyType(
    {
        definition.id: definition
        for definition in (
            CustomFilterDefinition(
                "sex:female", "individuals", "female (NCIT:C16576)", (TermCondition(frozenset({"NCIT:C16576"})),)
            ),
            CustomFilterDefinition(
                "sex:male", "individuals", "male (NCIT:C20197)", (TermCondition(frozenset({"NCIT:C20197"})),)
            ),
            CustomFilterDefinition(
                "ageOfOnset:adult", "individuals", "a disease with onset at 18 years or later", (_adult_onset(">="),)
            ),
            CustomFilterDefinition(
                "ageOfOnset:paediatric", "individuals", "a disease with onset before 18 years", (_adult_onset("<"),)
            ),
        )
    }
)
"""The custom filters this beacon defines, by id; `/filtering_terms` lists them (type `custom`)."""


def custom_filtering_terms(
    custom: Mapping[str, CustomFilterDefinition] = CUSTOM_FILTERS, entity: str | None = None
) -> list[FilteringTerm]:
    """The custom filters as `/filtering_terms` entries (of one entity, or all), ordered by id."""
    return [
        FilteringTerm(id=item.id, type="custom", label=item.label, scopes=(item.entity,))
        for item in sorted(custom.values(), key=lambda item: item.id)
        if entity is None or item.entity == entity
    ]


# -- parsing -------------------------------------------------------------------------------------


def parse_filters(
    items: Iterable[str | Mapping[str, Any]], *, custom: Mapping[str, CustomFilterDefinition] = CUSTOM_FILTERS
) -> tuple[Filter, ...]:
    """Parse GET filter strings and/or POST filter objects, in order; raises FilterError."""
    filters: list[Filter] = []
    for item in items:
        if isinstance(item, str):
            filters.extend(parse_filter_text(part, custom=custom) for part in _split_get(item))
        elif isinstance(item, Mapping):
            filters.append(parse_filter_object(item, custom=custom))
        else:
            raise FilterError(str(item), "a filter is a string (GET) or an object with an id (POST)")
    return tuple(filters)


def _split_get(text: str) -> list[str]:
    # A blank parameter (`filters=`) means no filter; an empty item between commas is an error.
    return [] if not text.strip() else [part.strip() for part in text.split(",")]


def parse_filter_text(text: str, *, custom: Mapping[str, CustomFilterDefinition] = CUSTOM_FILTERS) -> Filter:
    """One GET filter: a CURIE, a custom id, or `path OP value` (e.g. `sex.label=female`)."""
    text = text.strip()
    if not text:
        raise FilterError(text, "empty filter id")
    if text in custom:
        return _custom_filter(text, None, custom)
    comparison = _GET_COMPARISON.match(text)
    if comparison is not None and not is_curie(text):
        operator, value = comparison["op"], comparison["value"].strip()
        if value[:1] in ("<", ">", "=", "!"):  # `age=>40`, `age<<40`: a mistyped operator, not a value
            raise FilterError(text, f"unknown operator {operator + value[0]!r} (allowed: {' '.join(OPERATORS)})")
        operator = "!" if operator == "!=" else operator
        return _alphanumeric(text, comparison["id"].strip(), operator, value, None)
    return _id_only_filter(text, text, None, custom)


def parse_filter_object(
    item: Mapping[str, Any], *, custom: Mapping[str, CustomFilterDefinition] = CUSTOM_FILTERS
) -> Filter:
    """One POST filter object (OntologyFilter, AlphanumericFilter or CustomFilter)."""
    raw_id = item.get("id")
    shown = str(raw_id) if raw_id is not None else str(dict(item))
    filter_id = raw_id.strip() if isinstance(raw_id, str) else ""
    if not filter_id:
        raise FilterError(shown, "empty filter id")
    scope = _parse_scope(shown, item.get("scope"))
    if "operator" in item or "value" in item:
        operator = item.get("operator", "=")
        return _alphanumeric(shown, filter_id, operator, _object_value(shown, item), scope)
    if filter_id in custom:
        return _custom_filter(filter_id, scope, custom)
    ontology_filter = _id_only_filter(shown, filter_id, scope, custom)
    return OntologyFilter(
        id=ontology_filter.id,
        include_descendant_terms=_parse_descendants(shown, item.get("includeDescendantTerms", True)),
        similarity=_parse_similarity(shown, item.get("similarity", "exact")),
        scope=scope,
    )


def _id_only_filter(
    shown: str, filter_id: str, scope: str | None, custom: Mapping[str, CustomFilterDefinition]
) -> OntologyFilter:
    if is_curie(filter_id):
        return OntologyFilter(id=filter_id, scope=scope)
    if "." in filter_id and _FIELD_PATH.match(filter_id):
        raise FilterError(shown, "a field path needs an operator and a value, e.g. sex.label=female")
    known = ", ".join(sorted(custom)) or "none"
    raise FilterError(
        shown,
        f"not an ontology term CURIE (e.g. NCIT:C16576), a custom filter ({known}) "
        "nor a comparison (e.g. sex.label=female)",
    )


def _custom_filter(filter_id: str, scope: str | None, custom: Mapping[str, CustomFilterDefinition]) -> CustomFilter:
    entity = custom[filter_id].entity
    if scope is not None and scope != entity:
        raise FilterError(filter_id, f"this custom filter applies to {entity}, not {scope}")
    return CustomFilter(id=filter_id, scope=entity)


def _alphanumeric(shown: str, path: str, operator: Any, value: str, scope: str | None) -> AlphanumericFilter:
    if not _FIELD_PATH.match(path):
        raise FilterError(shown, f"{path!r} is not a field path (dotted names such as diseases.ageOfOnset)")
    if operator not in OPERATORS:
        raise FilterError(shown, f"unknown operator {operator!r} (allowed: {' '.join(OPERATORS)})")
    if value == "":
        raise FilterError(shown, "empty value")
    parsed = AlphanumericFilter(id=path, operator=operator, value=value, scope=scope)
    _value_condition(parsed, shown)  # type errors are found while parsing, not while querying
    return parsed


def _object_value(shown: str, item: Mapping[str, Any]) -> str:
    if "value" not in item:
        raise FilterError(shown, "an alphanumeric filter needs a value")
    value = item["value"]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FilterError(shown, "value must be a string or a number")
    return value.strip() if isinstance(value, str) else repr(value)


def _parse_scope(shown: str, scope: Any) -> str | None:
    if scope is None:
        return None
    entity = _SCOPE_NAMES.get(scope.lower()) if isinstance(scope, str) else None
    if entity is None:
        raise FilterError(shown, f"unknown scope {scope!r} (allowed: {', '.join(ENTITIES)})")
    return entity


def _parse_descendants(shown: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FilterError(shown, "includeDescendantTerms must be true or false")
    return value


def _parse_similarity(shown: str, value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in SIMILARITIES:
        raise FilterError(shown, f"unknown similarity {value!r} (allowed: {', '.join(SIMILARITIES)})")
    return value.lower()


MAX_WILDCARDS = 4
"""`%` wildcards (runs of `%` count once) one alphanumeric filter value may hold."""


def _value_condition(item: AlphanumericFilter, shown: str | None = None) -> ValueCondition:
    shown = shown or f"{item.id}{item.operator}{item.value}"
    duration_field = item.id.rsplit(".", 1)[-1] == "iso8601duration"
    if is_duration(item.value):
        return ValueCondition(item.id, item.operator, duration_days(item.value), is_duration=True)
    if duration_field:
        raise FilterError(shown, f"{item.id} holds ISO 8601 durations; compare it with one, e.g. P40Y")
    if _NUMBER.match(item.value):
        return ValueCondition(item.id, item.operator, float(item.value))
    if item.operator not in ("=", "!"):
        raise FilterError(shown, f"operator {item.operator} needs a number or an ISO 8601 duration")
    if len(re.findall("%+", item.value)) > MAX_WILDCARDS:  # each one multiplies a pattern's backtracking
        raise FilterError(shown, f"a value may hold at most {MAX_WILDCARDS} % wildcards")
    return ValueCondition(item.id, item.operator, item.value)


# -- resolving -----------------------------------------------------------------------------------


class TermHierarchy(Protocol):
    """What resolving needs from the ontologies (`beacon.ontology.OntologyIndex` provides it)."""

    def knows(self, term_id: str) -> bool: ...

    def covers(self, term_id: str) -> bool: ...

    def parents(self, term_id: str) -> frozenset[str]: ...

    def children(self, term_id: str) -> frozenset[str]: ...

    def descendants(self, term_id: str) -> frozenset[str]: ...


def resolve(
    filters: Iterable[Filter],
    ontology: TermHierarchy,
    entity: str,
    *,
    custom: Mapping[str, CustomFilterDefinition] = CUSTOM_FILTERS,
    known_terms: Collection[str] | None = None,
) -> tuple[dict[str, tuple[Condition, ...]], tuple[str, ...]]:
    """Store conditions by scope entity (the queried `entity` first) and warnings for `info`.

    `known_terms` (ids present in loaded records, e.g. from `store.filtering_terms()`) sharpens the
    unknown-term warnings; without it a term is reported unknown only when its ontology is loaded.
    """
    by_scope: dict[str, list[Condition]] = {entity: []}
    warnings: list[str] = []
    for item in filters:
        scope = item.scope or entity
        if isinstance(item, OntologyFilter):
            condition, warning = _term_condition(item, ontology, known_terms)
            by_scope.setdefault(scope, []).append(condition)
            warnings.extend([warning] if warning else [])
        elif isinstance(item, AlphanumericFilter):
            by_scope.setdefault(scope, []).append(item.condition())
        elif item.id in custom:
            by_scope.setdefault(scope, []).extend(custom[item.id].conditions)
        else:
            raise FilterError(item.id, "not a custom filter of this beacon")
    return {scope: tuple(conditions) for scope, conditions in by_scope.items()}, tuple(warnings)


def _term_condition(
    item: OntologyFilter, ontology: TermHierarchy, known_terms: Collection[str] | None
) -> tuple[TermCondition, str | None]:
    if ontology.knows(item.id):
        terms = expand_term(ontology, item.id, item.similarity, item.include_descendant_terms)
        return TermCondition(terms), None
    return TermCondition(frozenset({item.id})), _unknown_term_warning(item, ontology, known_terms)


def _unknown_term_warning(
    item: OntologyFilter, ontology: TermHierarchy, known_terms: Collection[str] | None
) -> str | None:
    prefix = item.id.split(":", 1)[0]
    if known_terms is not None and item.id in known_terms:
        if item.similarity in ("medium", "low"):
            return f"filter {item.id}: not in a loaded ontology, so similarity {item.similarity} matched it exactly"
        return None
    in_records = "" if known_terms is None else " nor used by any loaded record"
    if ontology.covers(item.id):
        return f"filter {item.id}: unknown term, not in the loaded {prefix} ontology{in_records}"
    if known_terms is not None:
        return f"filter {item.id}: unknown term, used by no loaded record and no {prefix} ontology is loaded"
    return None


def expand_term(
    ontology: TermHierarchy, term_id: str, similarity: str = "exact", include_descendants: bool = True
) -> frozenset[str]:
    """The term ids an ontology filter matches (see the module docstring for `similarity`)."""
    anchors = {term_id}
    parents = ontology.parents(term_id)
    if similarity in ("medium", "low"):
        anchors |= {child for parent in parents for child in ontology.children(parent)}
    if similarity == "low":
        grandparents = {grand for parent in parents for grand in ontology.parents(parent)}
        anchors |= parents | {child for grand in grandparents for child in ontology.children(grand)}
    if include_descendants:
        anchors |= {term for anchor in tuple(anchors) for term in ontology.descendants(anchor)}
    return frozenset(anchors)
