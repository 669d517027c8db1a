"""The shard key of `g_variants` and the commands that shard it (docs/scaling.md, "Shard keys").

`{assembly: 1, chromosome: 1, bucket: "hashed", v: 1, start: 1}`: the hashed 100 kb bucket spreads a
position-sorted load over the shards and lets positional queries (which name `assembly`, `chromosome`
and `bucket: {$in: ...}`) go to the shards owning those buckets only; the ranged suffix (`v`, the
dataset version, then `start`) lets MongoDB split a dense bucket into chunks, so that the smallest
unit a chunk cannot split is the alleles at ONE position of ONE dataset version (kilobytes), never a
whole bucket of every dataset and version (the jumbo chunks of a key ending at `bucket`).
`g_variant_carriers` is sharded on the same key plus the chunk number `n` (a chunk holds its variant's
fields), so a variant's carriers live beside it and even a variant with millions of carriers (one
key value per chunk of at most 1.3 MiB) can be split.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from beacon.store.mongo.state import CARRIERS, VARIANTS

SHARD_KEY: dict[str, Any] = {"assembly": 1, "chromosome": 1, "bucket": "hashed", "v": 1, "start": 1}
"""The key of `g_variants` on a sharded cluster (every stored variant holds each of its fields)."""
CARRIER_SHARD_KEY: dict[str, Any] = {**SHARD_KEY, "n": 1}
"""The key of `g_variant_carriers`: a variant's chunks are split by number."""


def shard_variants(db: Database) -> dict[str, Any]:
    """Shard `g_variants` and `g_variant_carriers` on SHARD_KEY (run against mongos by a cluster manager).

    The server's reply for `g_variants`.
    """
    admin = db.client.admin
    admin.command("enableSharding", db.name)
    replies = []
    for collection, key in ((VARIANTS, SHARD_KEY), (CARRIERS, CARRIER_SHARD_KEY)):
        db[collection].create_index(list(key.items()), name="shard_key")
        replies.append(admin.command("shardCollection", f"{db.name}.{collection}", key=key))
    return replies[0]
