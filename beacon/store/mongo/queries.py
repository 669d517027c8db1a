"""MongoDB filters for metadata queries, built so that request values can only ever be data.

By construction: every value from a request sits under `$eq` or inside an `$in` list of strings,
never in key position and never as a bare value MongoDB could read as an operator document; field
names and operators come from the constants below (a comparison operator is looked up in
`_COMPARISONS`, never passed through); alphanumeric filter paths are matched as the *value* of
`values.p`, so `$where`, `a.$ne` or `x.y` in a path is just text; `%` wildcards become a regular
expression whose every literal character is escaped. Types are checked first: a dict where a string
is expected raises TypeError rather than reaching the server.

Visibility (see `beacon.store.mongo.state`): a record is visible when its `load` is `live` or a
committed load, it is not `superseded_by` a committed load, and its dataset is not being removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from beacon.store.base import Condition, LinkCondition, RecordQuery, TermCondition, ValueCondition
from beacon.store.mongo.codec import is_bson_text

MAX_WILDCARDS = 4
"""`%` wildcards (runs of `%` count once) a pattern may hold: each multiplies PCRE's backtracking."""
LIVE = "live"
"""The `load` of records whose load has been folded in (see mongo_state.finish_commit)."""

_COMPARISONS = MappingProxyType({"=": "$eq", "<": "$lt", ">": "$gt", "<=": "$lte", ">=": "$gte"})
_NOTHING: dict[str, Any] = {"$in": []}  # matches no value: used for strings BSON cannot hold
_ANY_TEXT = r"[\s\S]*"
_END = r"(?![\s\S])"  # end of text in both PCRE (MongoDB) and Python (mongomock); `$` also matches before "\n"


@dataclass(frozen=True)
class Visibility:
    """Which stored records are visible, from the store's state document."""

    committed: tuple[str, ...] = ()
    removed: frozenset[str] = frozenset()

    def clause(self) -> dict[str, Any]:
        """The filter clause selecting visible records (removed datasets aside)."""
        clause: dict[str, Any] = {"load": {"$in": [LIVE, *self.committed]}}
        if self.committed:
            clause["superseded_by"] = {"$nin": list(self.committed)}
        return clause

    def datasets_clause(self) -> dict[str, Any]:
        """Visible records of datasets that are not being removed."""
        clause = self.clause()
        if self.removed:
            clause["dataset_id"] = {"$nin": sorted(self.removed)}
        return clause


def record_filter(query: RecordQuery, visibility: Visibility) -> dict[str, Any] | None:
    """The filter for a record query; None when the dataset is being removed (nothing matches)."""
    dataset_id = require_text(query.dataset_id, "dataset_id")
    if dataset_id in visibility.removed:
        return None
    mongo_filter = {
        "entity": eq(require_text(query.entity, "entity")),
        "dataset_id": eq(dataset_id),
        **visibility.clause(),
    }
    id_clause: dict[str, Any] = {}
    if query.record_id is not None:
        id_clause.update(eq(require_text(query.record_id, "record_id")))
    if query.record_ids is not None:
        id_clause["$in"] = text_list(query.record_ids, "record_ids")
    if id_clause:
        mongo_filter["id"] = id_clause
    conditions = [condition_filter(condition) for condition in query.conditions]
    if query.individual_ids is not None:
        individuals = text_list(query.individual_ids, "individual_ids")
        conditions.append({"values": {"$elemMatch": {"p": eq("individualId"), "s": {"$in": individuals}}}})
    if conditions:
        mongo_filter["$and"] = conditions
    return mongo_filter


def is_whole_entity(query: RecordQuery) -> bool:
    """True for a query of every record of an entity in a dataset (its count is in the summaries)."""
    unrestricted = (query.record_id, query.record_ids, query.individual_ids) == (None, None, None)
    return unrestricted and not query.conditions


def condition_filter(condition: Condition) -> dict[str, Any]:
    """The filter clause of one ontology or alphanumeric condition."""
    if isinstance(condition, TermCondition):
        return {"terms.id": {"$in": text_list(condition.term_ids, "term_ids")}}
    if isinstance(condition, ValueCondition):
        return _value_filter(condition)
    if isinstance(condition, LinkCondition):
        ids = text_list(condition.ids, "ids")
        return {"values": {"$elemMatch": {"p": eq(require_text(condition.path, "path")), "s": {"$in": ids}}}}
    raise TypeError(f"unknown condition type {type(condition).__name__}")


def _value_filter(condition: ValueCondition) -> dict[str, Any]:
    """`beacon.query.indexing.value_matches` as a filter on the `values` index entries."""
    if condition.operator == "!":
        equal = ValueCondition(condition.path, "=", condition.value, condition.is_duration)
        return {"$nor": [_value_filter(equal)]}
    comparison = _COMPARISONS.get(condition.operator)
    if comparison is None:
        raise ValueError(f"unknown filter operator {condition.operator!r}")
    leaf: dict[str, Any] = {"p": eq(require_text(condition.path, "path"))}
    if isinstance(condition.value, str):
        if condition.operator != "=":
            raise ValueError(f"operator {condition.operator} compares numbers or durations, not strings")
        leaf["s"] = _text_match(condition.value)
    elif isinstance(condition.value, int | float) and not isinstance(condition.value, bool):
        # Numbers compare with JSON-number leaves (no text), durations with duration strings.
        leaf["s"] = {"$ne": None} if condition.is_duration else {"$eq": None}
        leaf["n"] = {comparison: float(condition.value)}
    else:
        raise TypeError(f"filter value must be a string or a number, not {type(condition.value).__name__}")
    return {"values": {"$elemMatch": leaf}}


def _text_match(value: str) -> dict[str, Any]:
    if "%" not in value:
        return eq(value)
    if not is_bson_text(value):
        return dict(_NOTHING)
    return {"$regex": wildcard_pattern(value)}


def wildcard_pattern(value: str) -> str:
    """An anchored regular expression for a `%` wildcard value, every other character literal.

    Valid in PCRE and Python alike: ASCII letters and digits stand for themselves, other ASCII
    characters are backslash-escaped (literal in both), NUL is `\\x00`, the rest is literal text.
    """
    parts = ["".join(_literal(char) for char in part) for part in re.split("%+", value)]
    if len(parts) - 1 > MAX_WILDCARDS:  # the query layer refuses more (400); never send such a pattern
        raise ValueError(f"at most {MAX_WILDCARDS} % wildcards in a value")
    return "^" + _ANY_TEXT.join(parts) + _END


def _literal(char: str) -> str:
    if char.isascii() and char.isalnum():
        return char
    if char == "\x00":
        return r"\x00"
    return "\\" + char if char.isascii() else char


def eq(value: str) -> dict[str, Any]:
    """An equality clause that treats `value` as data (a string BSON cannot hold matches nothing)."""
    return {"$eq": value} if is_bson_text(value) else dict(_NOTHING)


def require_text(value: Any, name: str) -> str:
    """`value` if it is a string; TypeError otherwise (no dict can reach a filter as an operator)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    return value


def text_list(values: Iterable[Any], name: str) -> list[str]:
    """Sorted strings for an `$in` list (only strings: a regex in `$in` would be a pattern)."""
    return sorted(require_text(value, name) for value in values if not isinstance(value, str) or is_bson_text(value))


def page(skip: Any, limit: Any) -> tuple[int, int]:
    """Validated skip and limit (MongoDB reads limit 0 as 'no limit'; callers return nothing for it)."""
    for name, number in (("skip", skip), ("limit", limit)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise ValueError(f"{name} must be a non-negative whole number, got {number!r}")
    return skip, limit
