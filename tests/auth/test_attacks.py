"""The attack battery of issue #4, at the verifier: forged tokens are refused, foreign ones ignored, bad visas dropped.

Token cases (tests/auth/attacks.py): REFUSED ones raise InvalidTokenError (the API answers 401
invalid_token); IGNORED ones give exactly the anonymous principal and a reason. Visa attacks must drop the
one bad visa and keep the token: the caller stays registered (genuine bona fide visas) but gets no grant.
Where an attack names a URL, the request log proves that URL was never fetched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey

from beacon.auth import ANONYMOUS, AccessPolicy, InvalidTokenError
from beacon.query.granularity import Granularity
from tests.auth.attacks import (
    DATASET_A,
    DATASET_B,
    IGNORED,
    REFUSED,
    Case,
    Env,
    bearer,
    compact,
    forge,
    now,
    with_payload,
)
from tests.auth.oidc_provider import BONA_FIDE_VISAS, OpenIdProvider, RequestLog, grant_visa

pytestmark = pytest.mark.oidc

CONDITIONS = [[{"type": "AffiliationAndRole", "value": "faculty@uni.test", "source": "https://uni.test", "by": "so"}]]


@pytest.fixture(scope="module")
def env(op: OpenIdProvider, rogue_op: OpenIdProvider) -> Env:
    """The attacker's toolbox."""
    return Env(op, rogue_op, RSAKey.generate_key(2048), ECKey.generate_key("P-256"))


def assert_fetched(case: Case, request_log: RequestLog) -> None:
    """The URLs the case forbids were not requested."""
    for prefix in case.never_fetch:
        assert request_log.count(prefix) == 0, prefix
    if case.fetch_nothing:
        assert request_log.urls == []


@pytest.mark.parametrize("name", REFUSED)
def test_token_attack_is_refused(
    name: str, env: Env, make_verifier: Callable[..., Any], request_log: RequestLog
) -> None:
    """Each token that names the trusted issuer and fails verification is refused, never downgraded to anonymous."""
    case = REFUSED[name](env)
    verifier = make_verifier(**case.config)
    with pytest.raises(InvalidTokenError) as refused:
        verifier.identify(case.header)
    assert case.token not in str(refused.value)
    assert_fetched(case, request_log)


@pytest.mark.parametrize("name", IGNORED)
def test_foreign_credentials_are_ignored(
    name: str, env: Env, make_verifier: Callable[..., Any], request_log: RequestLog
) -> None:
    """Each credential that is not this beacon's gives exactly the anonymous caller, and says why."""
    case = IGNORED[name](env)
    verdict = make_verifier(**case.config).identify(case.header)
    assert verdict.principal is ANONYMOUS
    assert verdict.ignored
    assert not case.token or case.token[:24] not in verdict.ignored
    assert_fetched(case, request_log)


def test_jwks_endpoint_down_at_start_up_is_refused(env: Env, make_verifier: Callable[..., Any]) -> None:
    """With the issuer's key set answering 503 when the Beacon starts, a valid token is refused (401)."""
    token = env.op.token(env.op.add_account())
    env.op.fail(jwks=True)
    try:
        with pytest.raises(InvalidTokenError, match="could not be verified"):
            make_verifier().principal(bearer(token))
    finally:
        env.op.fail(jwks=False)


def test_passport_with_1000_visas_is_bounded_work(
    env: Env, make_verifier: Callable[..., Any], request_log: RequestLog
) -> None:
    """Only `max_visas` visas are examined; 1,000 forged ones cost one key set fetch, and a grant past the cap
    is not honoured."""
    sub = f"many-{uuid.uuid4().hex[:8]}@test"
    forged = [
        forge(env.ec, env.op.visa_claims(sub, grant_visa(DATASET_B), jti=str(i)), kid="visa-key-1", jku=env.op.visa_jku)
        for i in range(1000)
    ]
    late_grant = env.op.sign(env.op.visa_claims(sub, grant_visa(DATASET_A)), key="visa")
    env.op.add_account(sub=sub, visas=list(BONA_FIDE_VISAS), presigned_visas=[*forged, late_grant])
    principal = make_verifier(max_visas=200).principal(bearer(env.op.token(sub)))
    assert principal.registered is True
    assert principal.grants == frozenset()
    assert request_log.count(env.op.visa_jku) == 1


VISA_ATTACKS: dict[str, Callable[[Env, str], dict[str, Any]]] = {
    "signed-by-untrusted-key": lambda e, sub: {
        "presigned_visas": [
            forge(e.rsa, e.op.visa_claims(sub, grant_visa(DATASET_A)), kid="visa-key-1", jku=e.op.visa_jku)
        ]
    },
    "untrusted-key-unknown-kid": lambda e, sub: {
        "presigned_visas": [forge(e.rsa, e.op.visa_claims(sub, grant_visa(DATASET_A)), kid="evil", jku=e.op.visa_jku)]
    },
    "untrusted-jku-of-genuine-second-op": lambda e, sub: {
        "presigned_visas": [e.rogue.sign(e.rogue.visa_claims(sub, grant_visa(DATASET_A), iss=e.op.issuer), key="visa")],
        "never_fetch": (e.rogue.issuer,),
    },
    "jku-of-the-op-access-token-keys": lambda e, sub: {
        "presigned_visas": [
            e.op.sign(
                e.op.visa_claims(sub, grant_visa(DATASET_A)),
                key="op",
                header={"jku": f"{e.op.issuer}/jwks", "typ": "vnd.ga4gh.visa+jwt"},
            )
        ],
    },
    "access-token-typ-used-as-visa": lambda e, sub: {
        "presigned_visas": [
            e.op.sign(e.op.visa_claims(sub, grant_visa(DATASET_A)), key="visa", header={"typ": "at+jwt"})
        ],
    },
    "jku-internal-metadata-address": lambda e, sub: {
        "presigned_visas": [
            forge(e.rsa, e.op.visa_claims(sub, grant_visa(DATASET_A)), kid="k", jku="http://169.254.169.254/latest/")
        ],
        "never_fetch": ("http://169.254.169.254",),
    },
    "jku-internal-loopback-port": lambda e, sub: {
        "presigned_visas": [
            forge(e.rsa, e.op.visa_claims(sub, grant_visa(DATASET_A)), kid="k", jku="http://127.0.0.1:2375/jwks")
        ],
        "never_fetch": ("http://127.0.0.1:2375",),
    },
    "jku-trailing-slash-variant": lambda e, sub: {
        "presigned_visas": [
            e.op.sign(e.op.visa_claims(sub, grant_visa(DATASET_A)), key="visa", header={"jku": e.op.visa_jku + "/"})
        ],
        "never_fetch": (e.op.visa_jku + "/",),
    },
    "no-jku": lambda e, sub: {
        "presigned_visas": [e.op.sign(e.op.visa_claims(sub, grant_visa(DATASET_A)), key="visa", header={"jku": None})]
    },
    "alg-none": lambda e, sub: {
        "presigned_visas": [
            compact({"alg": "none", "jku": e.op.visa_jku}, e.op.visa_claims(sub, grant_visa(DATASET_A)), b"sig")
        ]
    },
    "expired": lambda e, sub: {"visas": [grant_visa(DATASET_A, exp=now() - 3600, iat=now() - 7200)]},
    "no-exp": lambda e, sub: {
        "presigned_visas": [e.op.sign(e.op.visa_claims(sub, grant_visa(DATASET_A), exp=None), key="visa")]
    },
    "sub-of-someone-else": lambda e, sub: {"visas": [grant_visa(DATASET_A, sub="someone-else@test")]},
    "with-conditions": lambda e, sub: {"visas": [grant_visa(DATASET_A, conditions=CONDITIONS)]},
    "grant-without-by": lambda e, sub: {"visas": [grant_visa(DATASET_A, by="")]},
    "untrusted-visa-issuer": lambda e, sub: {"visas": [grant_visa(DATASET_A, iss="https://evil.example")]},
    "asserted-in-the-future": lambda e, sub: {"visas": [grant_visa(DATASET_A, asserted=now() + 86_400)]},
    "tampered-value": lambda e, sub: {
        "presigned_visas": [
            with_payload(
                e.op.sign(e.op.visa_claims(sub, grant_visa(DATASET_B)), key="visa"),
                e.op.visa_claims(sub, grant_visa(DATASET_A)),
            )
        ]
    },
}


@pytest.mark.parametrize("name", VISA_ATTACKS)
def test_visa_attack_drops_the_visa_only(
    name: str, env: Env, make_verifier: Callable[..., Any], request_log: RequestLog
) -> None:
    """A bad grant visa is dropped; the token and the genuine bona fide visas still count."""
    sub = f"visa-{uuid.uuid4().hex[:8]}@test"
    attack = dict(VISA_ATTACKS[name](env, sub))
    never_fetch = attack.pop("never_fetch", ())
    env.op.add_account(
        sub=sub, visas=[*BONA_FIDE_VISAS, *attack.get("visas", [])], presigned_visas=attack.get("presigned_visas", [])
    )
    principal = make_verifier().principal(bearer(env.op.token(sub)))
    assert principal.subject == sub
    assert principal.registered is True
    assert DATASET_A not in principal.grants
    for prefix in never_fetch:
        assert request_log.count(prefix) == 0


@pytest.mark.parametrize("how", ["minted-by-op", "presigned-with-visa-key"])
def test_genuine_grant_control(how: str, env: Env, make_verifier: Callable[..., Any]) -> None:
    """Control for the visa attacks: the same grant, done right, is honoured."""
    sub = f"good-{uuid.uuid4().hex[:8]}@test"
    if how == "minted-by-op":
        env.op.add_account(sub=sub, visas=[*BONA_FIDE_VISAS, grant_visa(DATASET_A)])
    else:
        visa = env.op.sign(env.op.visa_claims(sub, grant_visa(DATASET_A)), key="visa")
        env.op.add_account(sub=sub, visas=list(BONA_FIDE_VISAS), presigned_visas=[visa])
    principal = make_verifier().principal(bearer(env.op.token(sub)))
    assert principal.grants == frozenset({DATASET_A})


def test_signed_control_token_is_accepted(env: Env, make_verifier: Callable[..., Any]) -> None:
    """Control for the claim attacks: a token from the same signing route with sound claims is accepted."""
    principal = make_verifier().principal(bearer(env.op.sign(env.op.access_claims(sub="control@test"))))
    assert (principal.subject, principal.issuer, principal.registered) == ("control@test", env.op.issuer, False)


POLICY_ATTACKS: dict[str, tuple[str, str]] = {
    "grant-for-a-replayed-against-b": (DATASET_A, "ds-b"),
    "grant-value-differs-in-case": (DATASET_A.replace("DS-A", "ds-a"), "ds-a"),
    "grant-value-has-trailing-slash": (DATASET_A + "/", "ds-a"),
}


@pytest.mark.parametrize("name", POLICY_ATTACKS)
def test_policy_attack_gets_no_record_access(
    name: str, env: Env, make_verifier: Callable[..., Any], tmp_path: Path
) -> None:
    """A real, verified grant whose value is not exactly the dataset's configured value grants nothing."""
    policy_file = tmp_path / "access.yaml"
    policy_file.write_text(
        f"datasets:\n  ds-a: {{level: CONTROLLED, visas: ['{DATASET_A}']}}\n"
        f"  ds-b: {{level: CONTROLLED, visas: ['{DATASET_B}']}}\n",
        encoding="utf-8",
    )
    policy = AccessPolicy.load(policy_file)
    held_value, target = POLICY_ATTACKS[name]
    sub = env.op.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(held_value)])
    principal = make_verifier().principal(bearer(env.op.token(sub)))
    assert principal.grants == frozenset({held_value})
    assert policy.is_granted(principal, target) is False
    assert policy.ceiling(principal, target) is Granularity.COUNT
