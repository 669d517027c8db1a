"""The loaded ontologies' terms, read outside any request's time budget and kept per stamp.

An ontology such as NCIT holds ~200k terms: reading them all may take longer than the 1.5 s a request
may spend on MongoDB (`mongo_budget`), and a read stopped by that budget would be started again by the
next request, and the next, so the terms would never be read at all. So the terms of a stamp are read
once, by a background thread with a budget of its own (`TERMS_TIMEOUT`); a request waits for it at
most what is left of its budget, and is answered 503 (StoreUnavailable: try again) when the thread
has not finished. The thread goes on, and later requests find the terms ready.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pymongo

from beacon.store.base import StoreUnavailable

if TYPE_CHECKING:
    from beacon.ontology import Ontology

TERMS_TIMEOUT = 120.0
"""Seconds the background read of every term may take."""


class OntologyTerms:
    """The ontologies with their terms for the latest stamp asked for, read by one background thread."""

    def __init__(self, read: Callable[[], list[Ontology]], where: str) -> None:
        self._read = read
        self._where = where
        self._lock = threading.Lock()
        self._stamp: str | None = None
        self._ready = threading.Event()
        self._ontologies: list[Ontology] = []
        self._error: Exception | None = None

    def get(self, stamp: str, wait: float) -> list[Ontology]:
        """The ontologies of `stamp`, waiting at most `wait` seconds for them to be read."""
        with self._lock:
            if stamp != self._stamp or (self._ready.is_set() and self._error is not None):
                self._start(stamp)
            ready = self._ready
        if not ready.wait(max(wait, 0.0)):
            raise StoreUnavailable(
                f"MongoDB at {self._where}: the ontologies are being read (they change with each ontology "
                "load); try again in a moment"
            )
        with self._lock:
            if self._error is not None:
                raise StoreUnavailable(f"MongoDB at {self._where}: the ontologies could not be read: {self._error}")
            return self._ontologies

    def _start(self, stamp: str) -> None:
        """Begin reading the terms of `stamp` (called with the lock held)."""
        self._stamp = stamp
        self._ready = threading.Event()
        self._error = None
        thread = threading.Thread(target=self._fill, args=(stamp, self._ready), daemon=True, name="ontology-terms")
        thread.start()

    def _fill(self, stamp: str, ready: threading.Event) -> None:
        # A new thread starts without the request's budget (a context variable): only TERMS_TIMEOUT applies.
        try:
            with pymongo.timeout(TERMS_TIMEOUT):
                ontologies, error = self._read(), None
        except Exception as failure:  # any failure is reported to the waiting requests, never left pending
            ontologies, error = [], failure
        with self._lock:
            if self._stamp == stamp:
                self._ontologies, self._error = ontologies, error
        ready.set()
