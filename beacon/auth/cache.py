"""Small thread-safe caches owned by one TokenVerifier (never module-level)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from beacon.auth.fetch import Deadline, FetchError, JsonFetcher

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """A bounded map whose entries expire at a wall-clock time; least recently used entries go first."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.time) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The live value for `key`, or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[1] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, expires_at: float) -> None:
        """Keep `value` until `expires_at` (epoch seconds) or until evicted."""
        with self._lock:
            self._entries[key] = (value, expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass(frozen=True)
class _Remote(Generic[V]):
    value: V | None
    fetched_at: float
    attempted_at: float


class RemoteCache(Generic[V]):
    """Parsed remote JSON documents by URL.

    A document is refetched when older than `max_age` or when a caller asks (an unknown `kid`), but at
    most once per `refetch_interval` per URL, so bad tokens cannot make us hammer an identity provider.
    When a refetch fails the previous value stays in use.
    """

    def __init__(
        self,
        fetcher: JsonFetcher,
        parse: Callable[[dict[str, Any]], V],
        max_age: float,
        refetch_interval: float,
        max_entries: int = 64,
    ) -> None:
        self._fetcher = fetcher
        self._parse = parse
        self._max_age = max_age
        self._refetch_interval = refetch_interval
        self._max_entries = max_entries
        self._entries: OrderedDict[str, _Remote[V]] = OrderedDict()
        self._url_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, url: str, deadline: Deadline, refresh: bool = False) -> V:
        """The document at `url`, fetched if needed; raise FetchError when there is none to give."""
        # One fetch per URL at a time: concurrent requests wait for it and reuse its result.
        url_lock = self._lock_for(url)
        if not url_lock.acquire(timeout=deadline.remaining()):
            raise FetchError(f"{url} is being fetched; no time left to wait")
        try:
            return self._get_locked(url, deadline, refresh)
        finally:
            url_lock.release()

    def _get_locked(self, url: str, deadline: Deadline, refresh: bool) -> V:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(url)
        if entry is not None and entry.value is not None and not refresh and now - entry.fetched_at < self._max_age:
            return entry.value
        if entry is not None and now - entry.attempted_at < self._refetch_interval:
            if entry.value is not None:
                return entry.value
            raise FetchError(f"{url} failed moments ago; not retried yet")
        old_value, old_fetched_at = (entry.value, entry.fetched_at) if entry else (None, 0.0)
        try:
            value = self._parse(self._fetcher.get_json(url, deadline))
        except FetchError:
            with self._lock:
                self._store(url, _Remote(old_value, old_fetched_at, now))
            if old_value is not None:
                return old_value
            raise
        with self._lock:
            self._store(url, _Remote(value, time.monotonic(), now))
        return value

    def _lock_for(self, url: str) -> threading.Lock:
        with self._lock:
            return self._url_locks.setdefault(url, threading.Lock())

    def _store(self, url: str, entry: _Remote[V]) -> None:
        self._entries[url] = entry
        self._entries.move_to_end(url)
        while len(self._entries) > self._max_entries:
            evicted, _ = self._entries.popitem(last=False)
            self._url_locks.pop(evicted, None)
