"""The WHERE clauses of record queries on the SQLite store: ids, carriers, ontology and value filters."""

from __future__ import annotations

import json
from typing import Any

from beacon.store.base import Condition, LinkCondition, RecordQuery, TermCondition, ValueCondition


def record_where(query: RecordQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (on `records r`) and parameters selecting the records a query matches."""
    clauses = ["r.entity = ?", "r.dataset_id = ?"]
    params: list[Any] = [query.entity, query.dataset_id]
    if query.record_id is not None:
        clauses.append("r.id = ?")
        params.append(query.record_id)
    if query.record_ids is not None:
        clauses.append("r.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(query.record_ids)))
    if query.individual_ids is not None:
        clauses.append(
            "r.id IN (SELECT v.record_id FROM record_values v WHERE v.entity = ? AND v.path = 'individualId' "
            "AND v.text IN (SELECT value FROM json_each(?)))"
        )
        params.extend([query.entity, json.dumps(sorted(query.individual_ids))])
    for condition in query.conditions:
        clause, condition_params = _condition_clause(condition, query.entity)
        clauses.append(clause)
        params.extend(condition_params)
    return " AND ".join(clauses), params


def _condition_clause(condition: Condition, entity: str) -> tuple[str, list[Any]]:
    # Uncorrelated subqueries (entity as a parameter): SQLite evaluates them once, not once per record.
    if isinstance(condition, TermCondition):
        clause = (
            "r.id IN (SELECT t.record_id FROM record_terms t WHERE t.entity = ? "
            "AND t.term_id IN (SELECT value FROM json_each(?)))"
        )
        return clause, [entity, json.dumps(sorted(condition.term_ids))]
    if isinstance(condition, LinkCondition):
        clause = (
            "r.id IN (SELECT v.record_id FROM record_values v WHERE v.entity = ? AND v.path = ? "
            "AND v.text IN (SELECT value FROM json_each(?)))"
        )
        return clause, [entity, condition.path, json.dumps(sorted(condition.ids))]
    return _value_clause(condition, entity)


def _value_clause(condition: ValueCondition, entity: str) -> tuple[str, list[Any]]:
    """Records with a leaf at the path satisfying the condition (`!`: none equal to the value).

    The semantics are `indexing.value_matches`: strings compare with string leaves only (`%` is a
    wildcard, case-sensitive), numbers with JSON numbers only, durations with durations only.
    """
    operator = "=" if condition.operator == "!" else condition.operator
    if isinstance(condition.value, str):
        test, value = _string_test(condition.value)
    else:
        kind = "v.text IS NOT NULL" if condition.is_duration else "v.text IS NULL"
        test, value = f"{kind} AND v.number {operator} ?", condition.value
    membership = "NOT IN" if condition.operator == "!" else "IN"
    clause = f"r.id {membership} (SELECT v.record_id FROM record_values v WHERE v.entity = ? AND v.path = ? AND {test})"
    return clause, [entity, condition.path, value]


def _string_test(value: str) -> tuple[str, str]:
    if "%" not in value:
        return "v.text = ?", value
    # `%` becomes GLOB's `*`; GLOB's own wildcards in the value are escaped as one-character classes.
    escaped = "".join(f"[{char}]" if char in "*?[" else char for char in value)
    return "v.text GLOB ?", escaped.replace("%", "*")
