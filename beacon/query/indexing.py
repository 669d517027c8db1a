"""What a store indexes of a metadata record so filters can find it: its ontology terms and its values.

Pure functions over the record JSON; both stores call them when records are written.
`extract_terms` feeds ontology filters (`TermCondition`), `extract_values` feeds alphanumeric filters
(`ValueCondition`). `value_matches` and `record_matches` are the reference semantics of the store
conditions over these values (`beacon.query.filters` explains them); every store must agree with them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from beacon.query.durations import duration_days, is_duration
from beacon.store.base import Condition, LinkCondition, TermCondition, ValueCondition

_CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:[^\s]+$")

_ORDERING = MappingProxyType(
    {"<": float.__lt__, ">": float.__gt__, "<=": float.__le__, ">=": float.__ge__, "=": float.__eq__}
)

IndexedValue = tuple[str, str | None, float | None]
"""(dotted path without array indices, string value or None, number or None) of one scalar leaf."""


def is_curie(text: object) -> bool:
    """Whether `text` looks like a CURIE (`prefix:local`), e.g. `NCIT:C16576` or `ICD10:F3181`."""
    return isinstance(text, str) and _CURIE.match(text) is not None


def extract_terms(record: Any) -> dict[str, str | None]:
    """Ontology terms (`{"id": CURIE, "label": ...}` objects) anywhere in a record: id -> label."""
    terms: dict[str, str | None] = {}
    for term_id, label in _walk_terms(record):
        if terms.get(term_id) is None:
            terms[term_id] = label
    return terms


def _walk_terms(node: Any) -> Iterator[tuple[str, str | None]]:
    if isinstance(node, dict):
        term_id = node.get("id")
        if isinstance(term_id, str) and _CURIE.match(term_id) and _looks_like_term(node):
            label = node.get("label")
            yield term_id, label if isinstance(label, str) else None
        for value in node.values():
            yield from _walk_terms(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_terms(item)


def _looks_like_term(node: dict[str, Any]) -> bool:
    # An OntologyTerm has only id/label (sometimes version); records themselves have ids too.
    return set(node) <= {"id", "label", "version"}


def extract_values(record: Any) -> list[IndexedValue]:
    """Every scalar leaf of a record as (path, string, number), distinct, in document order.

    Paths are dotted and carry no array indices (`diseases.ageOfOnset.iso8601duration`). A JSON
    number gives (path, None, number); an ISO 8601 duration string gives (path, text, length in days);
    any other string gives (path, text, None); booleans give the strings "true"/"false". Nulls and
    non-finite numbers are skipped.
    """
    values: dict[IndexedValue, None] = {}
    for path, leaf in _walk_leaves(record, ""):
        value = _indexed(path, leaf)
        if value is not None:
            values.setdefault(value, None)
    return list(values)


def _walk_leaves(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk_leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _walk_leaves(item, path)
    elif path:
        yield path, node


def _indexed(path: str, leaf: Any) -> IndexedValue | None:
    if isinstance(leaf, bool):
        return path, "true" if leaf else "false", None
    if isinstance(leaf, int | float):
        number = float(leaf)
        return (path, None, number) if math.isfinite(number) else None
    if isinstance(leaf, str):
        return path, leaf, duration_days(leaf) if is_duration(leaf) else None
    return None


def value_matches(condition: ValueCondition, values: Iterable[IndexedValue]) -> bool:
    """Whether a record's `extract_values` leaves satisfy an alphanumeric condition."""
    values = list(values)
    if condition.operator == "!":
        equal = ValueCondition(condition.path, "=", condition.value, condition.is_duration)
        return not value_matches(equal, values)
    leaves = [(text, number) for path, text, number in values if path == condition.path]
    if isinstance(condition.value, str):
        if condition.operator != "=":
            raise ValueError(f"operator {condition.operator} compares numbers or durations, not strings")
        pattern = _wildcard_pattern(condition.value)
        return any(text is not None and pattern.fullmatch(text) for text, _ in leaves)
    compare = _ORDERING[condition.operator]
    numbers = (number for text, number in leaves if number is not None and (text is not None) == condition.is_duration)
    return any(compare(number, float(condition.value)) for number in numbers)


def _wildcard_pattern(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in value.split("%")), re.DOTALL)


def record_matches(record: Mapping[str, Any], conditions: Iterable[Condition]) -> bool:
    """Whether one record satisfies every condition (AND), as the stores must decide it."""
    terms, values = extract_terms(record), extract_values(record)
    for condition in conditions:
        if isinstance(condition, TermCondition):
            if condition.term_ids.isdisjoint(terms):
                return False
        elif isinstance(condition, LinkCondition):
            if not any(path == condition.path and text in condition.ids for path, text, _ in values):
                return False
        elif not value_matches(condition, values):
            return False
    return True
