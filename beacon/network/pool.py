"""Keep-alive HTTP/1.1 connections to the members, reused across requests and threads.

The hub's calls are many small requests to few hosts, so the cost per call matters more than features:
`http.client` costs about a sixth of the CPU of a full-featured client per call (benchmarks/network_benchmark.py
measures the hub). Idle connections wait in one queue per host; a thread takes one (or opens one), sends
one request, and puts it back when the member kept it open. A reused connection the member had closed
meanwhile is replaced once by a fresh one (a Beacon query does not change anything, so resending is safe).
"""

from __future__ import annotations

import http.client
import queue
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_Connection = http.client.HTTPConnection


class PoolTimeout(Exception):
    """The member did not answer within the time limit."""


class PoolError(Exception):
    """No HTTP answer: refused, reset, name unknown, TLS failure, broken HTTP."""


@dataclass(frozen=True)
class Answer:
    """A member's HTTP answer."""

    status: int
    body: bytes


class ConnectionPool:
    """Idle keep-alive connections by (scheme, host, port), at most `per_host` kept per host."""

    def __init__(self, per_host: int = 32, user_agent: str = "beacon-network") -> None:
        self._idle: dict[tuple[str, str, int], queue.SimpleQueue[_Connection]] = {}
        self._per_host = per_host
        self._user_agent = user_agent
        self._tls = ssl.create_default_context()

    def request(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout: float) -> Answer:
        """Send one request and read the whole answer within `timeout` per network operation."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": self._user_agent, **headers}
        idle = self._idle.setdefault(key, queue.SimpleQueue())
        reused = _take(idle)
        try:
            if reused is not None:
                try:
                    return self._send(idle, reused, method, target, body, sent, timeout)
                except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                    reused.close()  # the member closed it while idle: once more on a new connection
            return self._send(idle, self._open(key, timeout), method, target, body, sent, timeout)
        except TimeoutError:
            raise PoolTimeout(f"no answer within {timeout:g} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise PoolError(f"{type(error).__name__}: {error}") from None

    def _open(self, key: tuple[str, str, int], timeout: float) -> _Connection:
        scheme, host, port = key
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._tls)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _send(
        self,
        idle: queue.SimpleQueue[_Connection],
        connection: _Connection,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> Answer:
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            response = connection.getresponse()
            content = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close or idle.qsize() >= self._per_host:
            connection.close()
        else:
            idle.put(connection)
        return Answer(response.status, content)

    def close(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            while (connection := _take(idle)) is not None:
                connection.close()


def _take(idle: queue.SimpleQueue[_Connection]) -> _Connection | None:
    try:
        return idle.get_nowait()
    except queue.Empty:
        return None
