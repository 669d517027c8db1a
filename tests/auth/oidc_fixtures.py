"""Pytest fixtures around the real local OpenID Provider: a trusted and a rogue OP, verifiers that log requests.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from beacon.auth import AuthConfig, TokenVerifier
from tests.auth.oidc_provider import AUDIENCE, OpenIdProvider, RequestLog, why_unavailable


@pytest.fixture(scope="session")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OpenIdProvider, OpenIdProvider]]:
    """Two OPs: `op` is trusted by the verifiers under test, `rogue_op` is a genuine OP nobody trusts."""
    reason = why_unavailable()
    if reason is not None:  # a missing prerequisite fails: `make test` installs node, npm and tests/oidc
        pytest.fail(reason)
    workdir = tmp_path_factory.mktemp("oidc")
    started = [OpenIdProvider(workdir), OpenIdProvider(workdir)]
    try:
        for provider in started:
            provider.wait_ready()
        yield started[0], started[1]
    finally:
        for provider in started:
            provider.stop()


@pytest.fixture(scope="session")
def op(providers: tuple[OpenIdProvider, OpenIdProvider]) -> OpenIdProvider:
    """The trusted OP (token issuer, visa issuer and visa jku)."""
    return providers[0]


@pytest.fixture(scope="session")
def rogue_op(providers: tuple[OpenIdProvider, OpenIdProvider]) -> OpenIdProvider:
    """A second, untrusted OP with valid keys of its own."""
    return providers[1]


@pytest.fixture
def request_log() -> RequestLog:
    """Records every URL the verifiers of one test fetch."""
    return RequestLog()


def trusting(op: OpenIdProvider, **overrides: Any) -> AuthConfig:
    """An AuthConfig that trusts `op` for tokens and visas; short timeouts keep failing cases quick."""
    settings: dict[str, Any] = {
        "issuers": (op.issuer,),
        "audiences": (AUDIENCE,),
        "trusted_jkus": (op.visa_jku,),
        "visa_issuers": (op.issuer,),
        "http_timeout": 1.0,
        "request_budget": 2.0,
    }
    return AuthConfig(**(settings | overrides))


@pytest.fixture
def make_verifier(op: OpenIdProvider, request_log: RequestLog) -> Iterator[Callable[..., TokenVerifier]]:
    """Builds TokenVerifiers trusting `op` (AuthConfig fields as keyword overrides)."""
    clients = []

    def make(**overrides: Any) -> TokenVerifier:
        client = request_log.client()
        clients.append(client)
        return TokenVerifier(trusting(op, **overrides), http=client)

    yield make
    for client in clients:
        client.close()
