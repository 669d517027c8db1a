"""TokenVerifier against a real OpenID Provider: the accepted paths, caching, key rotation, failures."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from beacon.auth import ANONYMOUS, AuthConfig, InvalidTokenError, TokenVerifier, Verdict
from beacon.auth.compact import make_registry
from beacon.auth.fetch import Deadline, JsonFetcher
from beacon.auth.jwks import RemoteKeys
from beacon.auth.passports import PassportVerifier, VisaRules
from tests.auth.oidc_fixtures import trusting
from tests.auth.oidc_provider import (
    BONA_FIDE_VISAS,
    OpenIdProvider,
    RequestLog,
    grant_visa,
)

pytestmark = pytest.mark.oidc

DATASET_A = "https://beacon.test/datasets/DS-CONTROLLED-1"
ACCEPTED_TERMS, RESEARCHER_STATUS = BONA_FIDE_VISAS
Make = Callable[..., TokenVerifier]


def bearer(token: str) -> str:
    """An Authorization header value."""
    return f"Bearer {token}"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_credentials_is_anonymous(header: str | None, make_verifier: Make, request_log: RequestLog) -> None:
    """Without credentials the caller is anonymous and nothing is fetched."""
    assert make_verifier().principal(header) == ANONYMOUS
    assert request_log.urls == []


@pytest.mark.parametrize("shape", ["jwt-then-userinfo", "opaque-then-userinfo", "jwt-with-embedded-passport"])
def test_controlled_caller_is_registered_and_granted(
    shape: str, op: OpenIdProvider, make_verifier: Make, request_log: RequestLog
) -> None:
    """LS Login shape (JWT + userinfo), opaque tokens and embedded passports all yield the same Principal."""
    sub = op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(DATASET_A)], embed_passport=shape.endswith("passport"))
    principal = make_verifier().principal(bearer(op.token(sub, jwt=not shape.startswith("opaque"))))
    assert (principal.subject, principal.issuer) == (sub, op.issuer)
    assert principal.registered is True
    assert principal.grants == frozenset({DATASET_A})
    assert request_log.count(f"{op.issuer}/me") == (0 if shape.endswith("passport") else 1)


def test_token_without_passport_scope_is_authenticated_only(
    op: OpenIdProvider, make_verifier: Make, request_log: RequestLog
) -> None:
    """A JWT without the ga4gh_passport_v1 scope is valid, but the caller is neither registered nor granted."""
    sub = op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(DATASET_A)])
    principal = make_verifier().principal(bearer(op.token(sub, scope="openid")))
    assert (principal.subject, principal.registered, principal.grants) == (sub, False, frozenset())
    assert request_log.count(f"{op.issuer}/me") == 0


@pytest.mark.parametrize(
    ("visas", "requirement", "registered"),
    [
        ([ACCEPTED_TERMS, RESEARCHER_STATUS], "bona_fide", True),
        ([RESEARCHER_STATUS], "bona_fide", False),
        ([ACCEPTED_TERMS], "bona_fide", False),
        ([RESEARCHER_STATUS], "researcher_status", True),
        ([ACCEPTED_TERMS], "researcher_status", False),
        ([ACCEPTED_TERMS, RESEARCHER_STATUS | {"by": "self"}], "bona_fide", False),
        ([RESEARCHER_STATUS | {"by": ""}], "researcher_status", False),
        ([], "authenticated", True),
        ([], "bona_fide", False),
    ],
)
def test_registered_requirement(
    visas: list[dict[str, Any]], requirement: str, registered: bool, op: OpenIdProvider, make_verifier: Make
) -> None:
    """BEACON_REGISTERED_REQUIRES: bona fide pair, ResearcherStatus (not self-asserted), or any valid token."""
    sub = op.add_account(visas=visas)
    principal = make_verifier(registered_requires=requirement).principal(bearer(op.token(sub)))
    assert principal.registered is registered


def test_principal_is_cached_per_token(op: OpenIdProvider, make_verifier: Make, request_log: RequestLog) -> None:
    """The second use of a token costs no request at all (passport cached until expiry)."""
    verifier = make_verifier()
    header = bearer(op.token(op.add_account(visas=list(BONA_FIDE_VISAS))))
    first = verifier.principal(header)
    fetched = len(request_log.urls)
    assert verifier.principal(header) == first
    assert len(request_log.urls) == fetched == 4  # discovery, jwks, userinfo, visa jku


def test_several_trusted_issuers(op: OpenIdProvider, rogue_op: OpenIdProvider, make_verifier: Make) -> None:
    """Tokens of every configured issuer are accepted, each checked against its own keys."""
    verifier = make_verifier(issuers=(op.issuer, rogue_op.issuer))
    ours = verifier.principal(bearer(op.token(op.add_account())))
    theirs = verifier.principal(bearer(rogue_op.token(rogue_op.add_account())))
    assert (ours.issuer, theirs.issuer) == (op.issuer, rogue_op.issuer)


def test_opaque_tokens_go_to_the_named_issuer(
    op: OpenIdProvider, rogue_op: OpenIdProvider, make_verifier: Make
) -> None:
    """With several issuers, opaque tokens are validated by `opaque_token_issuer` only."""
    verifier = make_verifier(issuers=(rogue_op.issuer, op.issuer), opaque_token_issuer=op.issuer)
    sub = op.add_account()
    assert verifier.principal(bearer(op.token(sub, jwt=False))).subject == sub


def test_visa_from_a_second_trusted_jku(op: OpenIdProvider, rogue_op: OpenIdProvider, make_verifier: Make) -> None:
    """A visa signed by another trusted visa issuer's key, at its trusted jku, is honoured."""
    sub = f"multi-{uuid.uuid4().hex[:8]}@test"
    visa = rogue_op.sign(rogue_op.visa_claims(sub, grant_visa(DATASET_A)), key="visa")
    op.add_account(sub=sub, presigned_visas=[visa])
    verifier = make_verifier(trusted_jkus=(op.visa_jku, rogue_op.visa_jku), visa_issuers=(op.issuer, rogue_op.issuer))
    assert verifier.principal(bearer(op.token(sub))).grants == frozenset({DATASET_A})


def test_leeway_accepts_small_clock_skew(op: OpenIdProvider, make_verifier: Make) -> None:
    """A token that expired 20 s ago is still accepted with the 60 s leeway."""
    now = int(time.time())
    token = op.sign(op.access_claims(sub="skew@test", iat=now - 600, exp=now - 20))
    assert make_verifier().principal(bearer(token)).subject == "skew@test"


def test_unknown_kid_refetches_at_most_once_per_interval(
    op: OpenIdProvider, make_verifier: Make, request_log: RequestLog
) -> None:
    """After a recent fetch, tokens with unknown kids cause no further key set requests."""
    verifier = make_verifier(jwks_refetch_interval=30.0)
    verifier.principal(bearer(op.sign(op.access_claims())))
    for _ in range(3):
        with pytest.raises(InvalidTokenError):
            verifier.principal(bearer(op.sign(op.access_claims(), header={"kid": f"kid-{uuid.uuid4().hex}"})))
    assert request_log.count(f"{op.issuer}/jwks") == 1


def test_key_rotation_is_picked_up(op: OpenIdProvider, make_verifier: Make, request_log: RequestLog) -> None:
    """A token signed with a key added after the key set was cached is accepted after one refetch."""
    verifier = make_verifier(jwks_refetch_interval=0.0)
    verifier.principal(bearer(op.sign(op.access_claims())))
    new_kid = op.rotate()
    principal = verifier.principal(bearer(op.sign(op.access_claims(sub="rotated@test"), key=new_kid)))
    assert principal.subject == "rotated@test"
    assert request_log.count(f"{op.issuer}/jwks") == 2


def test_old_keys_kept_when_a_refetch_fails(op: OpenIdProvider, make_verifier: Make, request_log: RequestLog) -> None:
    """If the key set endpoint goes down, tokens signed with the cached keys are still accepted."""
    verifier = make_verifier(jwks_refetch_interval=0.0)
    verifier.principal(bearer(op.sign(op.access_claims())))
    op.fail(jwks=True)
    try:
        with pytest.raises(InvalidTokenError):
            verifier.principal(bearer(op.sign(op.access_claims(), header={"kid": "unknown"})))
        assert verifier.principal(bearer(op.sign(op.access_claims(sub="still@test")))).subject == "still@test"
    finally:
        op.fail(jwks=False)
    assert request_log.count(f"{op.issuer}/jwks") == 2


def test_recovers_once_the_key_set_is_back(op: OpenIdProvider, make_verifier: Make) -> None:
    """A Beacon started while the key set was down accepts tokens once it is up again."""
    verifier = make_verifier(jwks_refetch_interval=0.0)
    sub = op.add_account()
    header = bearer(op.token(sub))
    op.fail(jwks=True)
    try:
        with pytest.raises(InvalidTokenError):
            verifier.principal(header)
    finally:
        op.fail(jwks=False)
    principal = verifier.principal(header)  # the same token, refused while the keys were unreachable
    assert (principal.subject, principal.issuer) == (sub, op.issuer)


def test_concurrent_first_requests_share_fetches(
    op: OpenIdProvider, make_verifier: Make, request_log: RequestLog
) -> None:
    """Threads verifying at once all succeed and fetch discovery and keys only once."""
    verifier = make_verifier()
    headers = [bearer(op.sign(op.access_claims(sub=f"thread-{n}@test"))) for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        subjects = list(pool.map(lambda header: verifier.principal(header).subject, headers))
    assert subjects == [f"thread-{n}@test" for n in range(8)]
    assert request_log.count(f"{op.issuer}/jwks") == 1
    assert request_log.count(f"{op.issuer}/.well-known/openid-configuration") == 1


def test_tokens_and_visas_are_never_logged(
    op: OpenIdProvider, make_verifier: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the access token nor any visa appears in the log, even at DEBUG with visas dropped."""
    sub = op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(DATASET_A, sub="other@test")])
    token = op.token(sub)
    caplog.set_level(logging.DEBUG)
    verifier = make_verifier()
    verifier.principal(bearer(token))
    with pytest.raises(InvalidTokenError):
        verifier.principal(bearer(token[:-4] + "AAAA"))
    assert "visa dropped" in caplog.text
    assert token[:40] not in caplog.text
    assert token.split(".")[2][:20] not in caplog.text
    assert "eyJ" not in caplog.text


def test_a_verifier_without_issuers_ignores_tokens(op: OpenIdProvider) -> None:
    """Auth not configured: no token is this beacon's, so every one is ignored (anonymous) and nothing fetched."""
    log = RequestLog()
    with log.client() as client:
        verifier = TokenVerifier(AuthConfig(issuers=(), audiences=()), http=client)
        assert verifier.identify(None) == Verdict(ANONYMOUS)
        for token in (op.sign(op.access_claims()), op.token(op.add_account(), jwt=False)):
            verdict = verifier.identify(bearer(token))
            assert verdict.principal == ANONYMOUS
            assert verdict.ignored
    assert log.urls == []


def test_an_ignored_token_is_remembered(
    op: OpenIdProvider, rogue_op: OpenIdProvider, make_verifier: Make, request_log: RequestLog
) -> None:
    """A network forwards the same foreign token with every query: it costs one userinfo call, not one per query."""
    verifier = make_verifier()
    header = bearer(rogue_op.token(rogue_op.add_account(), jwt=False))
    first = verifier.identify(header)
    assert (first.principal, request_log.count(f"{op.issuer}/me")) == (ANONYMOUS, 1)
    assert verifier.identify(header) == first
    assert request_log.count(f"{op.issuer}/me") == 1
    assert request_log.count(rogue_op.issuer) == 0


def test_passport_checks_at_most_max_visas(op: OpenIdProvider, request_log: RequestLog) -> None:
    """Direct check of the visa cap: 1,000 visas, 25 looked at, one key set fetch."""
    sub = "capped@test"
    visa = op.sign(op.visa_claims(sub, grant_visa(DATASET_A)), key="visa")
    config = trusting(op)
    with request_log.client() as client:
        keys = RemoteKeys(JsonFetcher(client, 1.0, 1 << 20), 3600.0, 30.0)
        rules = VisaRules(config.trusted_jkus, config.visa_issuers, config.algorithms, 60, 25, 1024)
        verifier = PassportVerifier(rules, keys, make_registry(config.algorithms, 1024, 16_384))
        summary = verifier.summarise([visa + "x" * n for n in range(1000)], sub, Deadline(2.0))
    assert summary.checked == 25
    assert request_log.count(op.visa_jku) == 1
