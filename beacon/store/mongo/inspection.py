"""What `beacon datasets show` reads from a MongoDB store: variant counts per chromosome and type, load history.

Kept apart from the variant and record modules (`InspectionMethods` is mixed into `MongoStore`): the
history is its own small collection (`load_history`, one document per load, written by the loader
after its switch) and the counts are one aggregation over the dataset's current version, read
without the request budget (a command-line read of millions of variants).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database

from beacon.store.base import VariantStatistics
from beacon.store.mongo import state
from beacon.store.mongo.errors import store_errors
from beacon.store.mongo.queries import require_text
from beacon.store.mongo.variants import read_variant_sets

LOAD_HISTORY = "load_history"


class InspectionMethods:
    """The Store methods of `beacon datasets show` and of the load history, for MongoStore."""

    @store_errors
    def variant_statistics(self, dataset_id: str) -> VariantStatistics | None:
        """Counts of the dataset's current variants per chromosome and type; None when it has none loaded."""
        return variant_statistics(self.database(), dataset_id)  # type: ignore[attr-defined]

    @store_errors
    def record_load(self, dataset_id: str, entry: Mapping[str, Any]) -> None:
        """Keep one entry of the dataset's load history."""
        record_load(self._writable(), dataset_id, entry)  # type: ignore[attr-defined]

    @store_errors
    def load_history(self, dataset_id: str) -> list[dict[str, Any]]:
        """The dataset's load history entries, oldest first."""
        return load_history(self.database(), dataset_id)  # type: ignore[attr-defined]


def variant_statistics(db: Database, dataset_id: str) -> VariantStatistics | None:
    """Counts of the dataset's current variants per chromosome and type; None when it has none loaded."""
    variant_set = read_variant_sets(db, dataset_id).get(dataset_id)
    if variant_set is None:
        return None
    pipeline = [
        {"$match": {"v": variant_set.version}},
        {"$group": {"_id": {"c": "$chromosome", "t": "$variant_type"}, "n": {"$sum": 1}}},
    ]
    groups = db[state.VARIANTS].aggregate(pipeline)
    return VariantStatistics.from_counts(
        variant_set.assembly, ((group["_id"]["c"], group["_id"]["t"], int(group["n"])) for group in groups)
    )


def record_load(db: Database, dataset_id: str, entry: Mapping[str, Any]) -> None:
    """Append one entry to the dataset's load history."""
    collection = db[LOAD_HISTORY]
    collection.create_index([("dataset", ASCENDING), ("recorded_at", ASCENDING)], name="by_dataset")
    document = {
        "dataset": require_text(dataset_id, "dataset_id"),
        "recorded_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "entry": dict(entry),
    }
    collection.insert_one(document)


def load_history(db: Database, dataset_id: str) -> list[dict[str, Any]]:
    """The dataset's load history entries, oldest first."""
    cursor = db[LOAD_HISTORY].find({"dataset": require_text(dataset_id, "dataset_id")}, {"entry": 1, "_id": 0})
    return [document["entry"] for document in cursor.sort([("recorded_at", ASCENDING), ("_id", ASCENDING)])]


def forget_loads(db: Database, dataset_id: str) -> None:
    """Delete the load history of a removed dataset."""
    db[LOAD_HISTORY].delete_many({"dataset": require_text(dataset_id, "dataset_id")})
