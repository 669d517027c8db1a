"""The MongoDB store, for large nodes (a replica set, or a sharded cluster to scale out)."""

from beacon.store.mongo.store import MongoStore

__all__ = ["MongoStore"]
