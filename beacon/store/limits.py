"""Where query budgets and rate-limit buckets live, shared by every worker of a beacon.

The beacon's own store is opened read-only by the server, so the counters live beside it:
`BEACON_LIMITS_URI` names an SQLite file (default `<store file>.limits.sqlite`) or a MongoDB
database (default: the store's own; the server's user must then be allowed to write the two
collections of `beacon.store.mongo.limits`). Both give the same answers:

- a **query budget** is a sliding window log: each charged query is an event that expires `window`
  seconds after it was made; a key with `limit` live events is refused until its oldest expires;
- a **rate limit** is a token bucket per client: `rate` tokens a second, at most `burst`, one per request;
- a **member budget** is a running count, per caller and dataset and member, of the answers that member
  decided, which starts afresh `window` seconds after its first charge (beacon.query.member_budget).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple, Protocol


class Charge(NamedTuple):
    """One query to count against one budget: its key, how many queries the window allows, the window (s)."""

    key: str
    limit: int
    window: float


class LimitsStore(Protocol):
    """Counters shared by all workers (and hosts, with MongoDB)."""

    def spend(self, charges: Sequence[Charge], now: float) -> float | None:
        """Count one query against every charge's budget, all or none; when one is spent, the seconds until
        it has room again (and nothing is counted), else None."""

    def take(self, key: str, rate: float, burst: int, now: float) -> float | None:
        """Take one request from the client's bucket; when it is empty, the seconds until it is not."""

    def member_counts(self, key: str, biosamples: Collection[str], now: float) -> dict[str, int]:
        """The unexpired counts under `key` of these members (biosample ids; those without one left out)."""

    def add_member_answers(
        self, key: str, decided: Mapping[str, int], seen: Mapping[str, int], window: float, now: float
    ) -> frozenset[str]:
        """Add `decided` to the members' counts under `key` if each still is what `seen` says (absent: 0), all
        or none; else the members whose count differs. An expired count starts afresh, lasting `window` s."""

    def close(self) -> None:
        """Release connections."""
