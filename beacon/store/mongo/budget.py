"""The time budget of MongoDB reads: about 1.5 s for all the reads of one request together.

An aggregator drops a node that has not answered within 5 s. Token verification may take up to 3 s
(`beacon.auth`, BEACON_HTTP_TIMEOUT), so the store gets `READ_BUDGET` = 1.5 s and the rest is
left for parsing, response building and the network.

How it is enforced: every public read of the MongoDB store runs inside `bounded_read`, which sets
pymongo's client-side operation timeout (`pymongo.timeout`) to what is left of the budget. pymongo
applies that deadline to server selection, connection checkout and each command, and sends the
server the remaining time as `maxTimeMS`, so a slow query is stopped by the server too. The time a
read takes is then subtracted from the budget; a read that finds nothing left fails at once.

Within `request_budget()` (the production WSGI app opens one per request, see
`beacon.serve.production_app`) all reads share one budget; outside one (CLI, tests, `flask run`)
each public store call gets a budget of its own. An exhausted or exceeded budget surfaces as
StoreUnavailable, i.e. HTTP 503 in the Beacon error envelope.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pymongo

from beacon.store.base import StoreUnavailable

READ_BUDGET = 1.5
"""Seconds of MongoDB reads one request may use in total."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ReadBudget:
    """Seconds of MongoDB reads left to one request."""

    __slots__ = ("remaining", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.remaining = seconds


# A context variable, not shared state: every request (thread or task) sees only its own budget.
_CURRENT: ContextVar[ReadBudget | None] = ContextVar("beacon_mongo_read_budget", default=None)


@contextmanager
def request_budget(seconds: float = READ_BUDGET) -> Iterator[ReadBudget]:
    """Let every MongoDB read inside the block share one budget of `seconds`."""
    budget = ReadBudget(seconds)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def remaining_budget() -> float | None:
    """Seconds of reads left to the current request; None outside `request_budget`."""
    budget = _CURRENT.get()
    return None if budget is None else budget.remaining


@contextmanager
def bounded_read(limit: float, where: str) -> Iterator[None]:
    """Run the block's MongoDB operations within the budget left (at most `limit` seconds)."""
    budget = _CURRENT.get()
    remaining = limit if budget is None else min(limit, budget.remaining)
    if budget is not None and remaining <= 0:
        raise StoreUnavailable(
            f"MongoDB at {where} did not answer in time: this request has spent its {budget.seconds} s of reads"
        )
    started = time.monotonic()
    try:
        with pymongo.timeout(remaining):
            yield
    finally:
        if budget is not None:
            budget.remaining -= time.monotonic() - started


def with_read_budget(wsgi_app: WsgiApp, seconds: float = READ_BUDGET) -> WsgiApp:
    """A WSGI app whose requests each get one read budget (the response is built inside it)."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with request_budget(seconds):
            return wsgi_app(environ, start_response)

    return application
