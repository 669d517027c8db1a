"""Query budgets and rate-limit buckets in MongoDB (see beacon.store.limits), shared by every host.

Three collections: `limits_budget_events` (one document per charged query, `expires` a date with a TTL
index, so MongoDB drops spent events itself), `limits_rate_buckets` (one per client) and
`limits_member_answers` (one per caller, dataset and member, `_id` naming all three; a count is created
by an insert, which a concurrent insert of the same `_id` makes fail, and changed only where it still
holds the count the request read; TTL on `expires`). The server's user needs write access to these three
collections only.

A budget is spent optimistically: the events are inserted first, then counted; when a budget turns
out to be over its limit, the new events are deleted again and the query refused. Two racing queries
may then both be refused, never both admitted past the limit. A bucket is updated only if no other
worker changed it in between (compare and set on its time stamp), retried a few times.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from beacon.store.base import StoreUnavailable
from beacon.store.limits import Charge

EVENTS, BUCKETS, ANSWERS = "limits_budget_events", "limits_rate_buckets", "limits_member_answers"
_RETRIES = 5


def _date(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def _seconds(value: datetime.datetime) -> float:
    # pymongo returns naive UTC datetimes unless the client is tz-aware.
    return (value if value.tzinfo else value.replace(tzinfo=datetime.UTC)).timestamp()


class MongoLimits:
    """Budgets and buckets in one MongoDB database."""

    def __init__(self, connect: Callable[[], Any], database: str) -> None:
        self._connect = connect
        self._database_name = database
        self._database: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_uri(cls, uri: str) -> MongoLimits:
        """Limits in the URI's database (default `beacon`), connecting on first use."""
        database = unquote(urlsplit(uri).path.lstrip("/")) or "beacon"
        return cls(lambda: MongoClient(uri, serverSelectionTimeoutMS=2000), database)

    @classmethod
    def from_client(cls, client: Any, database: str = "beacon") -> MongoLimits:
        """Limits on an existing client (tests use a mongomock client)."""
        return cls(lambda: client, database)

    def _db(self) -> Any:
        with self._lock:
            if self._database is None:
                database = self._connect()[self._database_name]
                database[EVENTS].create_index([("key", ASCENDING), ("expires", ASCENDING)])
                database[EVENTS].create_index("expires", expireAfterSeconds=0)
                database[ANSWERS].create_index([("key", ASCENDING), ("expires", ASCENDING)])  # expired counts
                database[ANSWERS].create_index("expires", expireAfterSeconds=0)
                self._database = database
            return self._database

    def spend(self, charges: Sequence[Charge], now: float) -> float | None:
        """Count one query against every charge's budget, all or none (see LimitsStore)."""
        try:
            events = self._db()[EVENTS]
            documents = [{"key": charge.key, "expires": _date(now + charge.window)} for charge in charges]
            inserted = events.insert_many(documents).inserted_ids
            waits = [self._wait(events, charge, now) for charge in charges]
            if any(wait is not None for wait in waits):
                events.delete_many({"_id": {"$in": inserted}})
                return max(wait for wait in waits if wait is not None)
            return None
        except PyMongoError as error:
            raise StoreUnavailable(f"MongoDB limits failed: {error}") from None

    @staticmethod
    def _wait(events: Any, charge: Charge, now: float) -> float | None:
        live = {"key": charge.key, "expires": {"$gt": _date(now)}}
        if events.count_documents(live) <= charge.limit:
            return None
        oldest = events.find_one(live, sort=[("expires", ASCENDING)])
        return _seconds(oldest["expires"]) - now if oldest else charge.window

    def take(self, key: str, rate: float, burst: int, now: float) -> float | None:
        """Take one request from the client's token bucket (see LimitsStore)."""
        try:
            buckets = self._db()[BUCKETS]
            for _ in range(_RETRIES):
                found = buckets.find_one({"_id": key})
                tokens = float(burst)
                if found is not None:
                    tokens = min(tokens, found["tokens"] + max(0.0, now - found["at"]) * rate)
                wait = None if tokens >= 1 else (1 - tokens) / rate
                update = {"tokens": tokens - 1 if wait is None else tokens, "at": now}
                if _compare_and_set(buckets, key, found, update):
                    return wait
            return 1 / rate  # the bucket is that busy: this request waits its turn
        except PyMongoError as error:
            raise StoreUnavailable(f"MongoDB limits failed: {error}") from None

    def member_counts(self, key: str, biosamples: Collection[str], now: float) -> dict[str, int]:
        """The unexpired counts of these members under `key` (see LimitsStore)."""
        try:
            wanted = {"_id": {"$in": [_member_id(key, biosample) for biosample in biosamples]}}
            found = self._db()[ANSWERS].find(wanted | {"expires": {"$gt": _date(now)}})
            return {document["biosample"]: int(document["total"]) for document in found}
        except PyMongoError as error:
            raise StoreUnavailable(f"MongoDB limits failed: {error}") from None

    def add_member_answers(
        self, key: str, decided: Mapping[str, int], seen: Mapping[str, int], window: float, now: float
    ) -> frozenset[str]:
        """Add decided answers to counts that are still `seen` (see LimitsStore). Each member's count changes in
        one step (its filter holds the count seen); when one has changed, those added before it stay added,
        which only spends budgets sooner."""
        try:
            collection = self._db()[ANSWERS]
            # The TTL monitor runs once a minute: expired totals are removed here before adding to them.
            collection.delete_many({"key": key, "expires": {"$lte": _date(now)}})
            changed = [
                b for b, count in decided.items() if not _add(collection, key, b, count, seen.get(b, 0), now + window)
            ]
            return frozenset(changed)
        except PyMongoError as error:
            raise StoreUnavailable(f"MongoDB limits failed: {error}") from None

    def close(self) -> None:
        """Nothing to release beyond the client, which pymongo closes at exit."""
        with self._lock:
            self._database = None


def _compare_and_set(buckets: Any, key: str, found: dict[str, Any] | None, update: dict[str, Any]) -> bool:
    if found is None:
        try:
            buckets.insert_one({"_id": key, **update})
            return True
        except DuplicateKeyError:
            return False
    result = buckets.update_one({"_id": key, "at": found["at"], "tokens": found["tokens"]}, {"$set": update})
    return result.modified_count == 1


def _add(collection: Any, key: str, biosample: str, count: int, seen: int, expires: float) -> bool:
    """Add `count` to a member's count if it still is `seen`; False when another request changed it."""
    if seen == 0:
        try:
            document = {"key": key, "biosample": biosample, "total": count, "expires": _date(expires)}
            collection.insert_one({"_id": _member_id(key, biosample), **document})
            return True
        except DuplicateKeyError:
            return False
    result = collection.update_one({"_id": _member_id(key, biosample), "total": seen}, {"$inc": {"total": count}})
    return result.modified_count == 1


def _member_id(key: str, biosample: str) -> str:
    """The `_id` of one member's count under one caller and dataset."""
    return f"{key}\x00{biosample}"
