"""Ontologies on MongoDB: a pointer document per ontology and its terms, replaced in one update.

    ontologies:      {_id: resource id, resource: <Beacon Resource JSON>, version, stamp, retired: [{version, at}]}
    ontology_terms:  {ontology, version, id, label, parents: [...]}

`put_ontology` holds the store's write lock (`mongo_state`; ontology loads take seconds), inserts the
terms under a fresh version, then switches the ontology's document to that version in one update:
readers see the old terms or the new ones, never a mix. The replaced version is deleted by a later
write once `cleanup_grace` has passed; terms of a writer that died before switching belong to no
ontology document and are deleted by the next `put_ontology` (it holds the lock, so no other write
of terms is in progress). `stamp` grows with every write, so `ontology_stamp` changes with each.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pymongo.database import Database

from beacon.store.base import DuplicateOntologyError
from beacon.store.mongo import state
from beacon.store.mongo.queries import eq, require_text
from beacon.store.mongo.writes import new_load_id, write_lock

if TYPE_CHECKING:
    from beacon.ontology import Ontology


def put_ontology(db: Database, ontology: Ontology, replace: bool, options: state.WriteOptions) -> int:
    """Store an ontology's resource and terms all-or-nothing; see Store.put_ontology."""
    ontology_id = require_text(ontology.resource.id, "ontology id")
    owner = new_load_id()
    with write_lock(db, owner, options):
        previous = db[state.ONTOLOGIES].find_one({"_id": eq(ontology_id)})
        if previous is not None and not replace:
            raise DuplicateOntologyError(ontology_id)
        _clean_up_terms(db, options)
        terms = [
            {
                "ontology": ontology_id,
                "version": owner,
                "id": term.id,
                "label": term.label,
                "parents": list(term.parents),
            }
            for term in ontology.terms
        ]
        try:
            for first in range(0, len(terms), options.batch_size):
                db[state.ONTOLOGY_TERMS].insert_many(terms[first : first + options.batch_size], ordered=False)
                state.refresh_lock(db, owner, options)
        except BaseException:
            db[state.ONTOLOGY_TERMS].delete_many({"version": owner})  # never visible; leave no litter either
            raise
        stamp = _latest_stamp(db) + 1
        update: dict[str, Any] = {"$set": {"resource": ontology.resource.to_json(), "version": owner, "stamp": stamp}}
        if previous is not None:
            update["$push"] = {"retired": {"version": previous["version"], "at": time.time()}}
        db[state.ONTOLOGIES].update_one({"_id": ontology_id}, update, upsert=True)
        state.flip(db, owner, {"$max": {"ontology_stamp": stamp}})
    return len(terms)


def _latest_stamp(db: Database) -> int:
    latest = db[state.ONTOLOGIES].find_one({}, {"stamp": 1}, sort=[("stamp", -1)])
    return 0 if latest is None else int(latest["stamp"])


def _clean_up_terms(db: Database, options: state.WriteOptions) -> None:
    """Delete settled retired versions and terms of no ontology document (a writer died); under the lock."""
    settled = time.time() - options.cleanup_grace
    kept: set[str] = set()
    for document in db[state.ONTOLOGIES].find({}, {"version": 1, "retired": 1}):
        kept.add(document["version"])
        for entry in document.get("retired", ()):
            if entry["at"] > settled:
                kept.add(entry["version"])
            else:
                db[state.ONTOLOGY_TERMS].delete_many({"version": entry["version"]})
                db[state.ONTOLOGIES].update_one({"_id": document["_id"]}, {"$pull": {"retired": entry}})
    orphans = [version for version in db[state.ONTOLOGY_TERMS].distinct("version") if version not in kept]
    if orphans:
        db[state.ONTOLOGY_TERMS].delete_many({"version": {"$in": orphans}})


def read_ontologies(db: Database, with_terms: bool) -> list[Ontology]:
    """The stored ontologies ordered by resource id (terms ordered by id, or none)."""
    from beacon.ontology import Ontology, OntologyResource, OntologyTerm

    loaded = []
    for document in db[state.ONTOLOGIES].find({}, {"resource": 1, "version": 1}).sort("_id", 1):
        terms: tuple[OntologyTerm, ...] = ()
        if with_terms:
            wanted = {"ontology": eq(document["_id"]), "version": eq(document["version"])}
            found = db[state.ONTOLOGY_TERMS].find(wanted, {"id": 1, "label": 1, "parents": 1}).sort("id", 1)
            terms = tuple(OntologyTerm(term["id"], term.get("label"), tuple(term["parents"])) for term in found)
        loaded.append(Ontology(resource=OntologyResource.from_json(document["resource"]), terms=terms))
    return loaded


def ontology_stamp(db: Database) -> str:
    """How many ontologies are stored and the stamp of the latest write, e.g. `2:5`."""
    stamps = [int(document["stamp"]) for document in db[state.ONTOLOGIES].find({}, {"stamp": 1})]
    return f"{len(stamps)}:{max(stamps, default=0)}"
