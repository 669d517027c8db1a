"""Asking many members at once: pooled keep-alive connections (beacon.network.pool), a thread per call, one
total budget.

Every call of a fan-out starts at once; the fan-out returns when all have answered or the budget is
spent, whichever comes first. A call still running then is reported as a timeout (its thread ends by
its own time limit, which is never above the budget), so a slow member never delays the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import orjson

from beacon.network.members import Member
from beacon.network.pool import Answer, ConnectionPool, PoolError, PoolTimeout

USER_AGENT = "beacon-network/0.1.0"
ANSWERED, TIMEOUT, ERROR, INVALID = "answered", "timeout", "error", "invalid"
"""Outcomes of a call: a JSON document came back, no answer in time, no HTTP answer, not JSON."""


@dataclass(frozen=True)
class Call:
    """One request to one member: the absolute URL (query string included), method, body and headers."""

    member: Member
    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What one member answered: the HTTP status and decoded JSON, or why there is none."""

    member: Member
    outcome: str
    status: int | None = None
    document: Any = None
    message: str = ""
    seconds: float = 0.0


class FanOut:
    """A pooled HTTP client and the threads that call members in parallel."""

    def __init__(self, pool_size: int = 64, observe: Callable[[Reply], None] | None = None) -> None:
        self._pool = ConnectionPool(per_host=pool_size, user_agent=USER_AGENT)
        self._threads = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="fan-out")
        self._observe = observe

    def ask_all(self, calls: Sequence[Call], budget: float) -> list[Reply]:
        """Every call's reply, in the calls' order, within `budget` seconds in all."""
        started = time.monotonic()
        futures: list[Future[Reply]] = [self._threads.submit(self._ask, call, budget) for call in calls]
        wait(futures, timeout=max(0.0, budget - (time.monotonic() - started)))
        replies = []
        for call, future in zip(calls, futures, strict=True):
            if future.done():
                replies.append(future.result())
            else:
                future.cancel()
                message = f"no answer within the {budget:g} s budget"
                replies.append(Reply(call.member, TIMEOUT, message=message, seconds=time.monotonic() - started))
        if self._observe is not None:
            for reply in replies:
                self._observe(reply)
        return replies

    def _ask(self, call: Call, budget: float) -> Reply:
        started = time.monotonic()
        timeout = min(budget, call.member.timeout or budget)
        try:
            answer = self._pool.request(call.method, call.url, call.body, call.headers, timeout)
        except PoolTimeout as error:
            # The socket may time out just before the fan-out's own deadline: say which limit it was.
            message = f"no answer within the {budget:g} s budget" if timeout >= budget else str(error)
            return Reply(call.member, TIMEOUT, message=message, seconds=_since(started))
        except PoolError as error:
            return Reply(call.member, ERROR, message=str(error), seconds=_since(started))
        return _decoded(call.member, answer, _since(started))

    def close(self) -> None:
        """Close the pooled connections and stop the threads."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._pool.close()


def _since(started: float) -> float:
    return time.monotonic() - started


def _decoded(member: Member, answer: Answer, seconds: float) -> Reply:
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        message = f"HTTP {answer.status}: the body is not JSON"
        return Reply(member, INVALID, status=answer.status, message=message, seconds=seconds)
    return Reply(member, ANSWERED, status=answer.status, document=document, seconds=seconds)
