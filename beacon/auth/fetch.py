"""Bounded HTTP GETs of JSON documents for the verifier: short timeouts, a size cap, no redirects."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx


class FetchError(Exception):
    """A remote JSON document could not be fetched or was not acceptable (reason in the message)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of a non-200 answer; None when there was no answer


class Deadline:
    """The time left for all network work done for one request."""

    def __init__(self, seconds: float) -> None:
        self._ends_at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._ends_at - time.monotonic())

    def expired(self) -> bool:
        """True when no time is left."""
        return self.remaining() <= 0.0


class JsonFetcher:
    """GETs JSON objects over one httpx client, never following redirects.

    Redirects are refused because a trusted URL redirecting elsewhere (an internal address, say) would
    defeat the allow-lists that decide which URLs may be fetched at all.
    """

    def __init__(self, client: httpx.Client, timeout: float, max_bytes: int) -> None:
        self._client = client
        self._timeout = timeout
        self._max_bytes = max_bytes

    def get_json(self, url: str, deadline: Deadline, bearer: str | None = None) -> dict[str, Any]:
        """Fetch `url` and return its JSON object body; raise FetchError on any failure."""
        timeout = min(self._timeout, deadline.remaining())
        if timeout <= 0:
            raise FetchError(f"no time left to fetch {url}")
        # identity: a compressed body could expand far beyond max_bytes inside a single chunk.
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            with self._client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(timeout), follow_redirects=False
            ) as response:
                if response.status_code != 200:
                    raise FetchError(f"{url} answered HTTP {response.status_code}", response.status_code)
                if _declared_length(response) > self._max_bytes:
                    raise FetchError(f"{url} announced more than {self._max_bytes} bytes")
                body = self._read_bounded(response, url, deadline)
        except httpx.HTTPError as error:
            raise FetchError(f"{url} could not be fetched ({type(error).__name__})") from None
        return _parse_object(body, url)

    def _read_bounded(self, response: httpx.Response, url: str, deadline: Deadline) -> bytes:
        # Each read is bounded by the timeout; the deadline check stops a server that drips bytes.
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchError(f"{url} sent more than {self._max_bytes} bytes")
            if deadline.expired():
                raise FetchError(f"{url} was too slow")
            chunks.append(chunk)
        return b"".join(chunks)


def _declared_length(response: httpx.Response) -> int:
    try:
        return int(response.headers.get("Content-Length", "0"))
    except ValueError:
        return 0


def _parse_object(body: bytes, url: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise FetchError(f"{url} did not send JSON") from None
    if not isinstance(document, dict):
        raise FetchError(f"{url} did not send a JSON object")
    return document
