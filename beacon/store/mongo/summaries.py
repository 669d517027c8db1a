"""Per dataset and entity summaries of the records, computed when a write commits, read by requests.

`/filtering_terms`, the known-term check of ontology filters and unfiltered record counts would
otherwise aggregate over every record (`$unwind` of each record's index entries) inside a request's
1.5 s budget. Instead every metadata write stores, for each (dataset, entity) it touches, what the
records will hold once it commits:

    record_summaries: {dataset_id, entity, part, load, superseded_by?, count,
                       terms: [{k: term id, l: label or null}], values: [path]}

Summaries follow the records' own visibility protocol (`mongo_state`): inserted under the write's
`load`, the ones they replace marked `superseded_by`, so the commit's one update swaps records and
summaries together. A summary whose lists are long is cut into `part`s of at most PART_ENTRIES
entries, so that no document approaches MongoDB's 16 MB limit; `count` is on part 0.

A write that only adds records extends the previous summary; one that replaces records recomputes
the summary of each (dataset, entity) it touches from the records (at load time, not in a request).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from beacon.store.base import FilteringTerm
from beacon.store.mongo.queries import LIVE, Visibility, eq, require_text

SUMMARIES = "record_summaries"
PART_ENTRIES = 20_000
"""Terms or paths per summary document (about 2 MB at 100 bytes each)."""
SUMMARY_INDEXES = (
    IndexModel([("dataset_id", ASCENDING), ("entity", ASCENDING), ("load", ASCENDING)], name="by_dataset"),
    IndexModel([("entity", ASCENDING), ("load", ASCENDING)], name="by_entity"),
    IndexModel([("load", ASCENDING)], name="by_load"),
    IndexModel([("superseded_by", ASCENDING)], name="by_superseded", sparse=True),
)

Pair = tuple[str, str]  # (dataset id, entity)


class Summary:
    """What the visible records of one dataset and entity hold: their count, term labels and paths."""

    def __init__(self, count: int = 0, terms: Mapping[str, str | None] | None = None, paths: Iterable[str] = ()):
        self.count = count
        self.terms: dict[str, str | None] = dict(terms or {})
        self.paths: set[str] = set(paths)

    def add_record(self, terms: Iterable[Mapping[str, Any]], values: Iterable[Mapping[str, Any]]) -> None:
        """Count one record and take its index entries (the first label alphabetically wins)."""
        self.count += 1
        for term in terms:
            self.add_term(term["id"], term.get("label"))
        self.paths.update(value["p"] for value in values)

    def add_term(self, term_id: str, label: str | None) -> None:
        """Add a term, keeping the alphabetically first label of any record (None only if none has one)."""
        known = [text for text in (self.terms.get(term_id), label) if text is not None]
        self.terms[term_id] = min(known, default=None)

    def documents(self, dataset_id: str, entity: str, load_id: str) -> list[dict[str, Any]]:
        """The summary documents of this summary (one per part)."""
        terms = [{"k": key, "l": self.terms[key]} for key in sorted(self.terms)]
        paths = sorted(self.paths)
        parts = max(1, -(-max(len(terms), len(paths)) // PART_ENTRIES))
        return [
            {
                "dataset_id": dataset_id,
                "entity": entity,
                "part": part,
                "load": load_id,
                "count": self.count if part == 0 else 0,
                "terms": terms[part * PART_ENTRIES : (part + 1) * PART_ENTRIES],
                "values": paths[part * PART_ENTRIES : (part + 1) * PART_ENTRIES],
            }
            for part in range(parts)
        ]


def write_summaries(
    db: Database, records: str, new_documents: list[dict[str, Any]], visibility: Visibility, load_id: str
) -> None:
    """Store the summaries the write's commit makes true, and mark the ones they replace (not yet visible)."""
    replaced = _pairs_with_replaced_records(db, records, load_id)
    added: dict[Pair, Summary] = {}
    for document in new_documents:
        pair = (document["dataset_id"], document["entity"])
        added.setdefault(pair, Summary()).add_record(document["terms"], document["values"])
    after = Visibility(committed=(*visibility.committed, load_id), removed=visibility.removed)
    for pair in sorted(set(added) | replaced):
        previous = read_summaries(db, visibility, dataset_id=pair[0], entity=pair[1])
        if pair in replaced or not previous:
            summary = _recompute(db, records, pair, after)
        else:
            summary = _merged(previous[pair], added[pair])
        old_ids = [document["_id"] for document in _visible_documents(db, visibility, pair[0], pair[1])]
        db[SUMMARIES].insert_many(summary.documents(pair[0], pair[1], load_id))
        if old_ids:
            db[SUMMARIES].update_many({"_id": {"$in": old_ids}}, {"$set": {"superseded_by": load_id}})


def _pairs_with_replaced_records(db: Database, records: str, load_id: str) -> set[Pair]:
    pipeline = [
        {"$match": {"superseded_by": load_id}},
        {"$group": {"_id": {"d": "$dataset_id", "e": "$entity"}}},
    ]
    return {(row["_id"]["d"], row["_id"]["e"]) for row in db[records].aggregate(pipeline)}


def _recompute(db: Database, records: str, pair: Pair, after: Visibility) -> Summary:
    """The summary of the records visible once the write commits (a walk of one dataset's records)."""
    summary = Summary()
    wanted = {"dataset_id": eq(pair[0]), "entity": eq(pair[1]), **after.clause()}
    for document in db[records].find(wanted, {"terms": 1, "values.p": 1, "_id": 0}):
        summary.add_record(document.get("terms", ()), document.get("values", ()))
    return summary


def _merged(previous: Summary, added: Summary) -> Summary:
    merged = Summary(previous.count + added.count, previous.terms, previous.paths | added.paths)
    for term_id, label in added.terms.items():
        merged.add_term(term_id, label)
    return merged


def _visible_documents(
    db: Database, visibility: Visibility, dataset_id: str | None, entity: str | None
) -> list[dict[str, Any]]:
    wanted: dict[str, Any] = visibility.datasets_clause()
    if dataset_id is not None:
        if dataset_id in visibility.removed:
            return []
        wanted["dataset_id"] = eq(require_text(dataset_id, "dataset_id"))
    if entity is not None:
        wanted["entity"] = eq(require_text(entity, "entity"))
    return list(db[SUMMARIES].find(wanted))


def read_summaries(
    db: Database, visibility: Visibility, *, dataset_id: str | None = None, entity: str | None = None
) -> dict[Pair, Summary]:
    """The visible summaries (of one dataset and/or entity, or all), by (dataset, entity)."""
    summaries: dict[Pair, Summary] = {}
    for document in _visible_documents(db, visibility, dataset_id, entity):
        summary = summaries.setdefault((document["dataset_id"], document["entity"]), Summary())
        summary.count += int(document.get("count", 0))
        for term in document.get("terms", ()):
            summary.add_term(term["k"], term.get("l"))
        summary.paths.update(document.get("values", ()))
    return summaries


def filtering_terms(summaries: Mapping[Pair, Summary]) -> list[FilteringTerm]:
    """The ontology terms of the summaries, with the entities holding them as scopes, ordered by id."""
    scopes: dict[str, set[str]] = {}
    merged = Summary()
    for (_dataset, entity), summary in summaries.items():
        for term_id, label in summary.terms.items():
            scopes.setdefault(term_id, set()).add(entity)
            merged.add_term(term_id, label)
    return [
        FilteringTerm(id=term_id, type="ontology", label=merged.terms[term_id], scopes=tuple(sorted(scopes[term_id])))
        for term_id in sorted(scopes)
    ]


def filtering_fields(summaries: Mapping[Pair, Summary]) -> list[FilteringTerm]:
    """The value paths of the summaries, with the entities holding them as scopes, ordered by path."""
    scopes: dict[str, set[str]] = {}
    for (_dataset, entity), summary in summaries.items():
        for path in summary.paths:
            scopes.setdefault(path, set()).add(entity)
    return [FilteringTerm(id=path, type="alphanumeric", scopes=tuple(sorted(scopes[path]))) for path in sorted(scopes)]


def build_all_summaries(db: Database, records: str, visibility: Visibility) -> None:
    """Summaries of every visible (dataset, entity), labelled `live` (a store of schema version 2 upgraded)."""
    db[SUMMARIES].delete_many({})
    pipeline = [{"$match": visibility.datasets_clause()}, {"$group": {"_id": {"d": "$dataset_id", "e": "$entity"}}}]
    for row in db[records].aggregate(pipeline, allowDiskUse=True):
        pair = (row["_id"]["d"], row["_id"]["e"])
        summary = _recompute(db, records, pair, visibility)
        db[SUMMARIES].insert_many(summary.documents(pair[0], pair[1], LIVE))
