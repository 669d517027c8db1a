"""Query budgets and the rate limit at the HTTP boundary: who the client is, and 429s when it asks too much.

The client of a request is its token's issuer and `sub` when it has a verified one, else its IP address:
the connection's peer, or, when that peer is a trusted proxy (BEACON_TRUSTED_PROXIES), the right-most
`X-Forwarded-For` address that is not one. The rate limit (BEACON_RATE_LIMIT, BEACON_RATE_BURST) counts
every `/api` request by IP address before any work is done; query budgets (the access policy's
`query_budget`) count each query once per dataset it asks, by client and dataset. Metadata endpoints
(`/info`, `/map`, `/configuration`, `/filtering_terms`, `/datasets`, `/cohorts`...) are never charged.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from flask import Flask, request

from beacon.errors import TooManyRequests
from beacon.query.member_budget import MemberBudget
from beacon.store.limits import Charge, LimitsStore

_CHARGED_KEY = "beacon_charged_datasets"


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The client's IP address: the peer, or behind trusted proxies the right-most untrusted forwarded one."""
    networks = [ipaddress.ip_network(network, strict=False) for network in trusted]
    address = peer or "unknown"
    if not networks or not _trusted(address, networks):
        return address
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
        address = hop
    return address


def _trusted(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # not an address (a forged header's junk): never a trusted proxy
        return False
    return any(ip in network for network in networks)


def current_address(trusted: Sequence[str]) -> str:
    """The client address of the current request."""
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)


def client_key(principal: Any, address: str) -> str:
    """Whose budget a query spends: the token's issuer and subject, else the IP address."""
    if principal.subject is not None:
        return f"sub:{principal.issuer or ''} {principal.subject}"
    return f"ip:{address}"


class Meter:
    """Charges one request's queries to the caller's budgets, each dataset once per request."""

    def __init__(self, limits: LimitsStore | None, policy: Any, principal: Any, key: str) -> None:
        self.limits = limits
        self.policy = policy
        self.principal = principal
        self.key = key
        self.charged: set[str] = set()

    def charge(self, dataset_ids: Sequence[str]) -> None:
        """Count a query of these datasets; TooManyRequests (nothing counted) when a budget is spent."""
        charges = []
        for dataset_id in dataset_ids:
            budget = self.policy.query_budget(self.principal, dataset_id)
            if budget is not None and dataset_id not in self.charged:
                charges.append(Charge(f"{self.key} {dataset_id}", budget.queries, budget.window))
        if not charges or self.limits is None:
            return
        wait = self.limits.spend(charges, time.time())
        if wait is not None:
            names = ", ".join(charge.key.rsplit(" ", 1)[1] for charge in charges)
            raise TooManyRequests(
                f"query budget spent for dataset(s) {names}; ask again in {wait:.0f} s, or select other "
                "datasets (the `datasets` parameter)",
                wait,
            )
        self.charged.update(dataset_ids)

    def member_ledger(self, dataset_id: str, member_budget: MemberBudget) -> LimitsMemberLedger | None:
        """The caller's evidence about the members of `dataset_id`, in the shared counters (everyone's together
        when the budget's scope is everyone: `everyone` is no client_key)."""
        if self.limits is None:
            return None
        key = "everyone" if member_budget.everyone else self.key
        return LimitsMemberLedger(self.limits, f"{key} {dataset_id}", member_budget)


class LimitsMemberLedger:
    """One caller's member budgets for one dataset (beacon.query.member_budget.MemberLedger), in the counters."""

    def __init__(self, limits: LimitsStore, key: str, member_budget: MemberBudget) -> None:
        self.limits = limits
        self.key = key
        self.member_budget = member_budget

    def counts(self, biosamples: Collection[str]) -> dict[str, int]:
        """How many answers each member decided for this caller."""
        return self.limits.member_counts(self.key, biosamples, time.time()) if biosamples else {}

    def charge(self, decided: Mapping[str, int], seen: Mapping[str, int]) -> frozenset[str]:
        """Add the answers each member decided, if their counts are still `seen`."""
        return self.limits.add_member_answers(self.key, decided, seen, self.member_budget.window, time.time())


def check_rate(ctx: Any) -> None:
    """429 for a client past BEACON_RATE_LIMIT requests a second (after its burst); `ctx`: the BeaconContext."""
    settings = ctx.settings
    if settings.rate_limit <= 0 or ctx.counters is None or not request.path.startswith("/api"):
        return
    if request.method == "OPTIONS":  # CORS preflights come with the request they announce
        return
    address = current_address(settings.trusted_proxies)
    wait = ctx.counters.take(f"rate:{address}", settings.rate_limit, settings.rate_burst, time.time())
    if wait is not None:
        raise TooManyRequests(f"too many requests: at most {settings.rate_limit:g} a second; slow down", wait)


def init_app(app: Flask, ctx: Any) -> None:
    """Rate-limit every request before anything else is done for it (`ctx`: the app's BeaconContext)."""
    app.before_request(lambda: check_rate(ctx))
