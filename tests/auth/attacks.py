"""The forged, stale, misdirected and foreign credentials of the attack battery (issue #4 and federations).

A credential that names a trusted issuer and fails verification is REFUSED (InvalidTokenError, HTTP 401).
A credential that is not this beacon's to judge (another issuer's token, another audience's, an opaque
token the trusted issuer does not know, anything unreadable) is IGNORED: exactly the anonymous caller.
Where a case names a URL, the request log must show that the URL was never fetched.
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
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.auth.oidc_provider import BONA_FIDE_VISAS, OpenIdProvider, free_port, grant_visa

DATASET_A = "https://beacon.test/datasets/DS-A"
DATASET_B = "https://beacon.test/datasets/DS-B"
PASSPORT_SCOPE = "openid ga4gh_passport_v1"


@dataclass
class Env:
    """What an attack may use: the trusted OP, a second OP nobody trusts, and keys the attacker owns."""

    op: OpenIdProvider
    rogue: OpenIdProvider
    rsa: RSAKey
    ec: ECKey

    def rich(self, provider: OpenIdProvider) -> str:
        """A new account of `provider` holding bona fide visas and a grant for DATASET_A."""
        return provider.add_account(visas=[*BONA_FIDE_VISAS, grant_visa(DATASET_A)])


@dataclass
class Case:
    """One attack: the Authorization header, verifier overrides, URL prefixes that must never be fetched."""

    header: str
    config: dict[str, Any] = field(default_factory=dict)
    never_fetch: tuple[str, ...] = ()
    fetch_nothing: bool = False

    @property
    def token(self) -> str:
        """The credentials after the scheme."""
        return self.header.partition(" ")[2]


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


def unreachable_issuer(e: Env) -> Case:
    """A trusted issuer whose server is not running (nothing listens on its port)."""
    issuer = f"http://127.0.0.1:{free_port()}"
    return Case(bearer(forge(e.rsa, e.op.access_claims(iss=issuer), kid="k")), config={"issuers": (issuer,)})


def misdirected(e: Env, **claims: Any) -> Case:
    """A token genuinely signed by the trusted OP for a rich account, with other claims: no passport is read."""
    sub = e.rich(e.op)
    token = e.op.sign(e.op.access_claims(sub=sub, scope=PASSPORT_SCOPE, **claims))
    return Case(bearer(token), never_fetch=(f"{e.op.issuer}/me",))


REFUSED: dict[str, Callable[[Env], Case]] = {
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
    "attacker-key-and-another-audience": lambda e: Case(
        bearer(forge(e.rsa, e.op.access_claims(aud="another-beacon"), kid="op-key-1"))
    ),
    "expired": lambda e: Case(bearer(e.op.sign(e.op.access_claims(iat=now() - 7200, exp=now() - 3600)))),
    "not-yet-valid": lambda e: Case(bearer(e.op.sign(e.op.access_claims(nbf=now() + 3600)))),
    "issued-in-the-future": lambda e: Case(bearer(e.op.sign(e.op.access_claims(iat=now() + 3600)))),
    "no-exp": lambda e: Case(bearer(e.op.sign(e.op.access_claims(exp=None)))),
    "no-sub": lambda e: Case(bearer(e.op.sign(e.op.access_claims(sub=None)))),
    "empty-sub": lambda e: Case(bearer(e.op.sign(e.op.access_claims(sub="")))),
    "non-string-sub": lambda e: Case(bearer(e.op.sign(e.op.access_claims(sub=12345)))),
    "second-op-signs-trusted-issuer": lambda e: Case(
        bearer(e.rogue.sign(e.op.access_claims(sub=e.rich(e.op), scope=PASSPORT_SCOPE))), never_fetch=(e.rogue.issuer,)
    ),
    "tampered-payload": lambda e: Case(
        bearer(with_payload(e.op.sign(e.op.access_claims()), e.op.access_claims(sub="admin@test")))
    ),
    "tampered-signature": lambda e: Case(bearer(e.op.sign(e.op.access_claims())[:-6] + "AAAAAA")),
    "oversized-jws-header": lambda e: Case(
        bearer(e.op.sign(e.op.access_claims(), header={"x-pad": "x" * 3000})), fetch_nothing=True
    ),
    "header-not-json": lambda e: Case(
        bearer(f"{b64('not json')}.{b64(json.dumps(e.op.access_claims()))}.c2ln"), fetch_nothing=True
    ),
    "header-without-alg": lambda e: Case(bearer(compact({"typ": "at+jwt"}, e.op.access_claims())), fetch_nothing=True),
    "visa-presented-as-access-token": lambda e: Case(bearer(genuine_visa_for(e.op)), fetch_nothing=True),
    "userinfo-times-out": lambda e: Case(
        bearer(e.op.token(e.op.add_account(userinfo_delay_ms=10_000))), config={"http_timeout": 0.5}
    ),
    "userinfo-times-out-opaque-token": lambda e: Case(
        bearer(e.op.token(e.op.add_account(userinfo_delay_ms=10_000), jwt=False)), config={"http_timeout": 0.5}
    ),
    "userinfo-oversized-response": lambda e: Case(
        bearer(e.op.token(e.op.add_account(userinfo_padding_bytes=2_000_000)))
    ),
    "issuer-unreachable-at-start-up": unreachable_issuer,
}
"""Tokens that name a trusted issuer and fail verification: 401, never anonymous."""


IGNORED: dict[str, Callable[[Env], Case]] = {
    "token-from-untrusted-second-op": lambda e: Case(
        bearer(e.rogue.token(e.rich(e.rogue))), never_fetch=(e.rogue.issuer,), fetch_nothing=True
    ),
    "opaque-token-from-untrusted-second-op": lambda e: Case(
        bearer(e.rogue.token(e.rich(e.rogue), jwt=False)), never_fetch=(e.rogue.issuer,)
    ),
    "genuine-token-for-another-audience": lambda e: Case(
        bearer(e.op.token(e.rich(e.op))), config={"audiences": ("another-beacon",)}, never_fetch=(f"{e.op.issuer}/me",)
    ),
    "wrong-audience": lambda e: misdirected(e, aud="another-beacon"),
    "no-audience": lambda e: misdirected(e, aud=None),
    "audience-list-without-ours": lambda e: misdirected(e, aud=["another-beacon", "a-portal"]),
    "expired-and-another-audience": lambda e: misdirected(e, aud="another-beacon", iat=now() - 7200, exp=now() - 3600),
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
    "alg-none-untrusted-issuer": lambda e: Case(
        bearer(compact({"alg": "none"}, e.op.access_claims(iss="https://evil.example"))), fetch_nothing=True
    ),
    "no-issuer-claim": lambda e: Case(bearer(e.op.sign(e.op.access_claims(iss=None))), fetch_nothing=True),
    "visa-signed-with-access-token-key": lambda e: Case(
        bearer(e.op.sign(e.op.visa_claims("someone@test", grant_visa(DATASET_A)), header={"typ": "JWT"}))
    ),
    "opaque-token-unknown-to-issuer": lambda e: Case(bearer(uuid.uuid4().hex)),
    "bearer-undefined": lambda e: Case("Bearer undefined"),
    "opaque-token-with-two-issuers": lambda e: Case(
        bearer(e.op.token(e.op.add_account(), jwt=False)),
        config={"issuers": (e.op.issuer, e.rogue.issuer)},
        fetch_nothing=True,
    ),
    "no-issuer-trusted": lambda e: Case(
        bearer(e.op.token(e.rich(e.op))), config={"issuers": (), "audiences": ()}, fetch_nothing=True
    ),
    "oversized-authorization-header": lambda e: Case(bearer("A" * 100_000), fetch_nothing=True),
    "malformed-base64-characters": lambda e: Case(bearer("eyJhbGciOiJSUzI1NiJ9!.e30.c2ln"), fetch_nothing=True),
    "malformed-base64-length": lambda e: Case(bearer("eyJhb.eyJhb.c2ln"), fetch_nothing=True),
    "payload-not-an-object": lambda e: Case(bearer(e.op.sign([1, 2, 3])), fetch_nothing=True),  # type: ignore[arg-type]
    "payload-nested-past-the-parser-limit": lambda e: Case(
        bearer(f"eyJhbGciOiJSUzI1NiJ9.{b64('[' * 12_000)}.c2ln"), fetch_nothing=True
    ),
    "jwe-five-segments": lambda e: Case(bearer("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), fetch_nothing=True),
    "not-the-bearer-scheme": lambda e: Case("Basic " + b64("user:password"), fetch_nothing=True),
    "bearer-without-token": lambda e: Case("Bearer ", fetch_nothing=True),
    "bearer-token-with-space": lambda e: Case("Bearer abc def", fetch_nothing=True),
}
"""Credentials that are not this beacon's to judge: exactly the anonymous caller, with a reason."""
