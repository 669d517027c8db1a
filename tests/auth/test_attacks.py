"""The attack battery of issue #4: every forged, stale, misdirected or oversized credential is refused.

Token attacks must raise InvalidTokenError (the API answers 401 invalid_token). Visa attacks must drop the
one bad visa and keep the token: the caller stays registered (genuine bona fide visas) but gets no grant.
Where an attack names a URL, the request log proves that URL was never fetched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from beacon.auth import AccessPolicy, InvalidTokenError
from beacon.query.granularity import Granularity
from tests.auth.oidc_provider import BONA_FIDE_VISAS, OpenIdProvider, RequestLog, free_port, grant_visa

pytestmark = pytest.mark.oidc

DATASET_A = "https://beacon.test/datasets/DS-A"
DATASET_B = "https://beacon.test/datasets/DS-B"
CONDITIONS = [[{"type": "AffiliationAndRole", "value": "faculty@uni.test", "source": "https://uni.test", "by": "so"}]]


@dataclass
class Env:
    """What an attack may use: both OPs and keys the attacker owns."""

    op: OpenIdProvider
    rogue: OpenIdProvider
    rsa: RSAKey
    ec: ECKey


@dataclass
class Case:
    """One attack: the Authorization header, verifier overrides, URL prefixes that must never be fetched."""

    header: str
    config: dict[str, Any] = field(default_factory=dict)
    never_fetch: tuple[str, ...] = ()
    fetch_nothing: bool = False


@pytest.fixture(scope="module")
def env(op: OpenIdProvider, rogue_op: OpenIdProvider) -> Env:
    """The attacker's toolbox."""
    return Env(op, rogue_op, RSAKey.generate_key(2048), ECKey.generate_key("P-256"))


def b64(data: bytes | str) -> str:
    """base64url without padding."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: Any, signature: bytes = b"") -> str:
    """An unsigned (or arbitrarily 'signed') compact JWS."""
    return f"{b64(json.dumps(header))}.{b64(json.dumps(claims))}.{b64(signature)}"


def forge(key: RSAKey | ECKey, claims: dict[str, Any], **header: Any) -> str:
    """A JWS correctly signed, but by a key the attacker owns."""
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    return jwt.encode({"alg": alg, **header}, claims, key, algorithms=[alg])


def hs256_with_public_key(op: OpenIdProvider, claims: dict[str, Any]) -> str:
    """The classic key-confusion forgery: HMAC-SHA256 keyed with the issuer's public key (PEM)."""
    jwk = httpx.get(f"{op.issuer}/jwks").json()["keys"][0]
    secret = RSAKey.import_key(jwk).as_pem(private=False)
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': jwk['kid']}))}.{b64(json.dumps(claims))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bearer(token: str) -> str:
    """An Authorization header value."""
    return f"Bearer {token}"


def now() -> int:
    """Epoch seconds."""
    return int(time.time())


def genuine_visa_for(op: OpenIdProvider) -> str:
    """A real visa JWS minted by the OP's userinfo for a bona fide account."""
    sub = op.add_account(visas=list(BONA_FIDE_VISAS))
    answer = httpx.get(f"{op.issuer}/me", headers={"Authorization": bearer(op.token(sub, jwt=False))})
    return answer.json()["ga4gh_passport_v1"][0]


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """`token` with its payload swapped (the signature no longer matches)."""
    head, _, signature = token.split(".")
    return f"{head}.{b64(json.dumps(claims))}.{signature}"


TOKEN_ATTACKS: dict[str, Callable[[Env], Case]] = {
    "alg-none-unsigned": lambda e: Case(bearer(compact({"alg": "none"}, e.op.access_claims())), fetch_nothing=True),
    "alg-none-with-signature": lambda e: Case(
        bearer(compact({"alg": "none"}, e.op.access_claims(), b"sig")), fetch_nothing=True
    ),
    "hs256-signed-with-op-public-key": lambda e: Case(
        bearer(hs256_with_public_key(e.op, e.op.access_claims())), fetch_nothing=True
    ),
    "unknown-kid": lambda e: Case(bearer(forge(e.rsa, e.op.access_claims(), kid="no-such-kid"))),
    "op-kid-but-attacker-key": lambda e: Case(bearer(forge(e.rsa, e.op.access_claims(), kid="op-key-1"))),
    "no-kid-attacker-key": lambda e: Case(bearer(forge(e.rsa, e.op.access_claims()))),
    "es256-attacker-key-op-kid": lambda e: Case(bearer(forge(e.ec, e.op.access_claims(), kid="op-key-1"))),
    "expired": lambda e: Case(bearer(e.op.sign(e.op.access_claims(iat=now() - 7200, exp=now() - 3600)))),
    "not-yet-valid": lambda e: Case(bearer(e.op.sign(e.op.access_claims(nbf=now() + 3600)))),
    "issued-in-the-future": lambda e: Case(bearer(e.op.sign(e.op.access_claims(iat=now() + 3600)))),
    "no-exp": lambda e: Case(bearer(e.op.sign(e.op.access_claims(exp=None)))),
    "wrong-issuer": lambda e: Case(
        bearer(e.op.sign(e.op.access_claims(iss="https://evil.example"))), fetch_nothing=True
    ),
    "issuer-with-trailing-slash": lambda e: Case(
        bearer(e.op.sign(e.op.access_claims(iss=e.op.issuer + "/"))), fetch_nothing=True
    ),
    "configured-issuer-has-trailing-slash": lambda e: Case(
        bearer(e.op.sign(e.op.access_claims())), config={"issuers": (e.op.issuer + "/",)}, fetch_nothing=True
    ),
    "issuer-case-variant": lambda e: Case(
        bearer(e.op.sign(e.op.access_claims(iss=e.op.issuer.replace("http", "HTTP")))), fetch_nothing=True
    ),
    "wrong-audience": lambda e: Case(bearer(e.op.sign(e.op.access_claims(aud="another-client")))),
    "no-audience": lambda e: Case(bearer(e.op.sign(e.op.access_claims(aud=None)))),
    "audience-list-without-ours": lambda e: Case(bearer(e.op.sign(e.op.access_claims(aud=["a", "b"])))),
    "no-sub": lambda e: Case(bearer(e.op.sign(e.op.access_claims(sub=None)))),
    "empty-sub": lambda e: Case(bearer(e.op.sign(e.op.access_claims(sub="")))),
    "non-string-sub": lambda e: Case(bearer(e.op.sign(e.op.access_claims(sub=12345)))),
    "token-from-untrusted-second-op": lambda e: Case(
        bearer(e.rogue.token(e.rogue.add_account())), never_fetch=(e.rogue.issuer,), fetch_nothing=True
    ),
    "second-op-signs-trusted-issuer": lambda e: Case(
        bearer(e.rogue.sign(e.op.access_claims())), never_fetch=(e.rogue.issuer,)
    ),
    "tampered-payload": lambda e: Case(
        bearer(with_payload(e.op.sign(e.op.access_claims()), e.op.access_claims(sub="admin@test")))
    ),
    "tampered-signature": lambda e: Case(bearer(e.op.sign(e.op.access_claims())[:-6] + "AAAAAA")),
    "oversized-authorization-header": lambda e: Case(bearer("A" * 100_000), fetch_nothing=True),
    "oversized-jws-header": lambda e: Case(
        bearer(e.op.sign(e.op.access_claims(), header={"x-pad": "x" * 3000})), fetch_nothing=True
    ),
    "malformed-base64-characters": lambda e: Case(bearer("eyJhbGciOiJSUzI1NiJ9!.e30.c2ln"), fetch_nothing=True),
    "malformed-base64-length": lambda e: Case(bearer("eyJhb.e30.c2ln"), fetch_nothing=True),
    "header-not-json": lambda e: Case(bearer(f"{b64('not json')}.e30.c2ln"), fetch_nothing=True),
    "payload-not-an-object": lambda e: Case(bearer(e.op.sign([1, 2, 3])), fetch_nothing=True),  # type: ignore[arg-type]
    "jwe-five-segments": lambda e: Case(bearer("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), fetch_nothing=True),
    "not-the-bearer-scheme": lambda e: Case("Basic " + b64("user:password"), fetch_nothing=True),
    "bearer-token-with-space": lambda e: Case("Bearer abc def", fetch_nothing=True),
    "visa-presented-as-access-token": lambda e: Case(bearer(genuine_visa_for(e.op)), fetch_nothing=True),
    "visa-signed-with-access-token-key": lambda e: Case(
        bearer(e.op.sign(e.op.visa_claims("someone@test", grant_visa(DATASET_A)), header={"typ": "JWT"}))
    ),
    "userinfo-times-out": lambda e: Case(
        bearer(e.op.token(e.op.add_account(userinfo_delay_ms=10_000))), config={"http_timeout": 0.5}
    ),
    "userinfo-times-out-opaque-token": lambda e: Case(
        bearer(e.op.token(e.op.add_account(userinfo_delay_ms=10_000), jwt=False)), config={"http_timeout": 0.5}
    ),
    "userinfo-oversized-response": lambda e: Case(
        bearer(e.op.token(e.op.add_account(userinfo_padding_bytes=2_000_000)))
    ),
    "opaque-token-unknown-to-issuer": lambda e: Case(bearer(uuid.uuid4().hex)),
    "opaque-token-with-two-issuers": lambda e: Case(
        bearer(e.op.token(e.op.add_account(), jwt=False)),
        config={"issuers": (e.op.issuer, e.rogue.issuer)},
        fetch_nothing=True,
    ),
    "issuer-unreachable-at-start-up": lambda e: unreachable_issuer(e),
}


def unreachable_issuer(e: Env) -> Case:
    """A trusted issuer whose server is not running (nothing listens on its port)."""
    issuer = f"http://127.0.0.1:{free_port()}"
    return Case(bearer(forge(e.rsa, e.op.access_claims(iss=issuer), kid="k")), config={"issuers": (issuer,)})


@pytest.mark.parametrize("name", TOKEN_ATTACKS)
def test_token_attack_is_refused(
    name: str, env: Env, make_verifier: Callable[..., Any], request_log: RequestLog
) -> None:
    """Each forged or unacceptable access token is refused, never downgraded to anonymous."""
    case = TOKEN_ATTACKS[name](env)
    verifier = make_verifier(**case.config)
    token = case.header.partition(" ")[2]
    with pytest.raises(InvalidTokenError) as refused:
        verifier.principal(case.header)
    assert token not in str(refused.value)
    for prefix in case.never_fetch:
        assert request_log.count(prefix) == 0
    if case.fetch_nothing:
        assert request_log.urls == []


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
