"""Bearer tokens to Principals: JWT access tokens verified locally, opaque ones via userinfo, then passports.

In a federation every member receives the caller's token. A token that is not this beacon's (another
issuer's, another audience's, one its issuer does not know) is ignored: the caller is anonymous. A token
of a trusted issuer that fails verification is refused (401): forging our issuer never gets an answer.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from beacon.auth.cache import ExpiringCache
from beacon.auth.compact import MalformedTokenError, SignatureError, make_registry, peek, unverified_issuer, verify
from beacon.auth.fetch import Deadline, FetchError, JsonFetcher
from beacon.auth.jwks import ProviderMetadata, RemoteKeys
from beacon.auth.passports import (
    ACCEPTED_TERMS_AND_POLICIES,
    EMPTY_PASSPORT,
    RESEARCHER_STATUS,
    PassportSummary,
    PassportVerifier,
    VisaRules,
)
from beacon.auth.principal import ANONYMOUS, Principal

REGISTERED_REQUIREMENTS = ("bona_fide", "researcher_status", "authenticated")
"""Values of `BEACON_REGISTERED_REQUIRES`."""

ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})
"""Algorithms that may be allowed at all: never `none`, never HMAC (a shared secret is no proof)."""

ISSUER_SHOWN = 120
"""Characters of an untrusted `iss` repeated in logs and responses."""

USERINFO_REFUSALS = frozenset({400, 401, 403})
"""Userinfo answers (RFC 6750 section 3.1) by which an issuer says that it does not accept a token."""

PASSPORT_CLAIM = "ga4gh_passport_v1"
VISA_TYP = "vnd.ga4gh.visa+jwt"

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_LOOPBACK_HOSTS = ("localhost",)


class InvalidTokenError(Exception):
    """A token of a trusted issuer, addressed to this beacon, failed verification (HTTP 401, `invalid_token`).

    The message is a short reason safe to show to the caller; it never contains the token.
    """


class IgnoredTokenError(Exception):
    """Credentials that are not this beacon's to judge: treated as no credentials at all (anonymous).

    In a federation every member receives the caller's token, so a token of another issuer, or one
    addressed to another audience, is normal. The message says why and never contains the token.
    """


@dataclass(frozen=True)
class Verdict:
    """What the Authorization header of one request amounts to."""

    principal: Principal
    ignored: str | None = None
    """Why presented credentials were treated as none (the principal is then ANONYMOUS); else None."""


@dataclass(frozen=True)
class AuthConfig:
    """Everything the verifier trusts, and its bounds. Lists come from the comma-separated settings."""

    issuers: tuple[str, ...]
    """`BEACON_OIDC_ISSUERS`: exact `iss` values whose access tokens are accepted."""
    audiences: tuple[str, ...]
    """`BEACON_OIDC_AUDIENCES`: a JWT's `aud` must contain one of these."""
    trusted_jkus: tuple[str, ...] = ()
    """`BEACON_TRUSTED_JKUS`: exact key set URLs a visa may name as its `jku`."""
    visa_issuers: tuple[str, ...] = ()
    """`BEACON_VISA_ISSUERS`: exact `iss` values of accepted visas."""
    registered_requires: str = "bona_fide"
    """`BEACON_REGISTERED_REQUIRES`: one of REGISTERED_REQUIREMENTS."""
    opaque_token_issuer: str | None = None
    """Issuer whose userinfo endpoint validates opaque tokens; defaults to the only issuer, if just one."""
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    http_timeout: float = 2.0
    """Seconds for any one HTTP exchange."""
    request_budget: float = 3.0
    """Seconds for all network work done to verify one token. A server dripping bytes can overrun it by at
    most one read (`http_timeout`), so the defaults keep the worst case within the API's 5 s budget."""
    leeway: int = 60
    max_token_bytes: int = 16_384
    max_header_bytes: int = 1_024
    max_response_bytes: int = 1_048_576
    max_visas: int = 200
    jwks_refetch_interval: float = 30.0
    """An unknown `kid` or a failed fetch triggers at most one refetch per URL in this many seconds."""
    metadata_max_age: float = 3_600.0
    """Discovery documents and key sets are refreshed after this many seconds."""
    opaque_cache_seconds: float = 300.0
    max_cache_seconds: float = 3_600.0
    max_cached_tokens: int = 4_096
    allow_http: bool = False
    """Allow plain-http issuer and jku URLs beyond loopback (never in production)."""

    def __post_init__(self) -> None:
        if self.registered_requires not in REGISTERED_REQUIREMENTS:
            raise ValueError(f"registered_requires must be one of {', '.join(REGISTERED_REQUIREMENTS)}")
        if self.issuers and not self.audiences:
            raise ValueError("audiences must name at least one accepted 'aud' when issuers are configured")
        if not self.algorithms or not set(self.algorithms) <= ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"algorithms must be a non-empty subset of {sorted(ASYMMETRIC_ALGORITHMS)}")
        if self.opaque_token_issuer is not None and self.opaque_token_issuer not in self.issuers:
            raise ValueError("opaque_token_issuer must be one of issuers")
        for url in (*self.issuers, *self.trusted_jkus):
            _check_url(url, self.allow_http)
        if min(self.http_timeout, self.request_budget, self.max_visas, self.max_token_bytes) <= 0:
            raise ValueError("timeouts and size limits must be positive")

    @property
    def userinfo_issuer(self) -> str | None:
        """The issuer that validates opaque tokens, or None when opaque tokens are refused."""
        if self.opaque_token_issuer is not None:
            return self.opaque_token_issuer
        return self.issuers[0] if len(self.issuers) == 1 else None


def _check_url(url: str, allow_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        raise ValueError(f"{url!r} must use https")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in _LOOPBACK_HOSTS


def bearer_token(authorization_header: str | None, max_bytes: int) -> str | None:
    """The token of an `Authorization: Bearer` header; None without credentials, IgnoredTokenError if unusable."""
    if authorization_header is None or not authorization_header.strip():
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    # None of these can be a token of a trusted issuer, so they cannot be refused on its behalf.
    if scheme.lower() != "bearer":
        raise IgnoredTokenError("the Authorization header does not use the Bearer scheme")
    token = token.strip()
    if len(token) > max_bytes:
        raise IgnoredTokenError(f"the bearer token is larger than {max_bytes} bytes")
    if not _TOKEN68.fullmatch(token):
        raise IgnoredTokenError("the bearer token is malformed")
    return token


class TokenVerifier:
    """Turns an Authorization header into a Verdict (a Principal); owns its caches, safe to share across threads."""

    def __init__(self, config: AuthConfig, http: httpx.Client | None = None) -> None:
        self.config = config
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(follow_redirects=False, trust_env=False)
        fetcher = JsonFetcher(self._http, config.http_timeout, config.max_response_bytes)
        self._keys = RemoteKeys(fetcher, config.metadata_max_age, config.jwks_refetch_interval)
        self._fetcher = fetcher
        self._registry = make_registry(config.algorithms, config.max_header_bytes, config.max_token_bytes)
        rules = VisaRules(
            config.trusted_jkus,
            config.visa_issuers,
            config.algorithms,
            config.leeway,
            config.max_visas,
            config.max_header_bytes,
        )
        self._passports = PassportVerifier(rules, self._keys, self._registry)
        self._verdicts: ExpiringCache[bytes, Verdict] = ExpiringCache(config.max_cached_tokens)

    def principal(self, authorization_header: str | None) -> Principal:
        """The caller behind the header: ANONYMOUS without usable credentials, else verified or InvalidTokenError."""
        return self.identify(authorization_header).principal

    def identify(self, authorization_header: str | None) -> Verdict:
        """The verdict on the header: a verified principal, or ANONYMOUS with the reason credentials were ignored.

        Raises InvalidTokenError for a token that names a trusted issuer and fails verification.
        """
        try:
            token = bearer_token(authorization_header, self.config.max_token_bytes)
        except IgnoredTokenError as error:
            return Verdict(ANONYMOUS, str(error))
        if token is None:
            return Verdict(ANONYMOUS)
        # The cache key is a digest so that tokens are not kept around in memory.
        cache_key = hashlib.sha256(token.encode()).digest()
        cached = self._verdicts.get(cache_key)
        if cached is not None:
            return cached
        try:
            principal, expires_at = self._verify(token, Deadline(self.config.request_budget))
            verdict = Verdict(principal)
        except IgnoredTokenError as error:
            # Remembered too: a network forwards the same foreign token with every query.
            verdict = Verdict(ANONYMOUS, str(error))
            expires_at = time.time() + min(self.config.opaque_cache_seconds, self.config.max_cache_seconds)
        self._verdicts.put(cache_key, verdict, expires_at)
        return verdict

    def close(self) -> None:
        """Close the HTTP client if this verifier created it."""
        if self._owns_http:
            self._http.close()

    def _verify(self, token: str, deadline: Deadline) -> tuple[Principal, float]:
        if token.count(".") == 2:
            return self._verify_jwt(token, deadline)
        if token.count(".") == 0:
            return self._verify_opaque(token, deadline)
        raise IgnoredTokenError("the bearer token is neither a signed JWT nor an opaque token")

    def _verify_jwt(self, token: str, deadline: Deadline) -> tuple[Principal, float]:
        # Exact match on the claimed issuer, before anything is fetched: the token must not choose URLs.
        # The unverified `iss` only decides that a token is not ours; everything granted is verified below.
        issuer = unverified_issuer(token)
        if issuer is None:
            raise IgnoredTokenError("the token names no issuer")
        if issuer not in self.config.issuers:
            # Named (shortened, quoted) so that an operator can tell which issuer a network's callers use.
            raise IgnoredTokenError(f"the token's issuer {issuer[:ISSUER_SHOWN]!r} is not trusted by this beacon")
        try:
            header, _ = peek(token, self.config.max_header_bytes)
        except MalformedTokenError as error:
            raise InvalidTokenError(str(error)) from None
        if header["alg"] not in self.config.algorithms:
            raise InvalidTokenError(f"algorithm {header['alg']!r} is not accepted")
        if str(header.get("typ", "")).lower() == VISA_TYP:
            raise InvalidTokenError("a visa is not an access token")
        try:
            metadata = self._keys.provider(issuer, deadline)
            key = self._keys.signing_key(metadata.jwks_uri, header.get("kid"), header["alg"], deadline)
            claims = verify(token, key, self._registry)
        except (FetchError, SignatureError) as error:
            raise InvalidTokenError(f"the token could not be verified ({error})") from None
        if not _addressed_to(claims.get("aud"), self.config.audiences):
            raise IgnoredTokenError("the token is addressed to another audience")
        self._check_claims(claims, issuer)
        summary = self._passports.summarise(self._passport(claims, metadata, token, deadline), claims["sub"], deadline)
        principal = self._to_principal(claims["sub"], issuer, summary)
        return principal, self._cache_until(float(claims["exp"]), summary)

    def _check_claims(self, claims: dict[str, Any], issuer: str) -> None:
        registry = JWTClaimsRegistry(
            leeway=self.config.leeway,
            iss={"essential": True, "value": issuer},
            sub={"essential": True},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise InvalidTokenError(f"the token claims are not acceptable ({error})") from None

    def _passport(self, claims: dict[str, Any], metadata: ProviderMetadata, token: str, deadline: Deadline) -> object:
        if PASSPORT_CLAIM in claims:
            return claims[PASSPORT_CLAIM]
        scope = claims.get("scope")
        if not isinstance(scope, str) or PASSPORT_CLAIM not in scope.split():
            return None
        userinfo = self._userinfo(metadata, token, deadline)
        if userinfo.get("sub") != claims["sub"]:
            raise InvalidTokenError("userinfo describes a different subject")
        return userinfo.get(PASSPORT_CLAIM)

    def _verify_opaque(self, token: str, deadline: Deadline) -> tuple[Principal, float]:
        issuer = self.config.userinfo_issuer
        if issuer is None:
            raise IgnoredTokenError("opaque tokens are not resolved by this beacon; send a JWT access token")
        try:
            metadata = self._keys.provider(issuer, deadline)
        except FetchError as error:
            raise InvalidTokenError(f"the token could not be verified ({error})") from None
        userinfo = self._userinfo(metadata, token, deadline, opaque=True)
        subject = userinfo.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidTokenError("userinfo names no subject")
        summary = self._passports.summarise(userinfo.get(PASSPORT_CLAIM), subject, deadline)
        principal = self._to_principal(subject, issuer, summary)
        return principal, self._cache_until(time.time() + self.config.opaque_cache_seconds, summary)

    def _userinfo(
        self, metadata: ProviderMetadata, token: str, deadline: Deadline, opaque: bool = False
    ) -> dict[str, Any]:
        if metadata.userinfo_endpoint is None:
            raise InvalidTokenError("the issuer has no userinfo endpoint")
        try:
            return self._fetcher.get_json(metadata.userinfo_endpoint, deadline, bearer=token)
        except FetchError as error:
            # An opaque token our issuer does not know may be another issuer's; one it cannot answer for
            # (timeout, 5xx) may be ours, so that stays a refusal.
            if opaque and error.status in USERINFO_REFUSALS:
                raise IgnoredTokenError("the token is unknown to this beacon's issuer") from None
            raise InvalidTokenError(f"userinfo refused or failed ({error})") from None

    def _to_principal(self, subject: str, issuer: str, summary: PassportSummary) -> Principal:
        return Principal(
            subject=subject,
            registered=is_registered(self.config.registered_requires, summary),
            grants=summary.grants,
            issuer=issuer,
        )

    def _cache_until(self, token_expires_at: float, summary: PassportSummary) -> float:
        candidates = [token_expires_at, time.time() + self.config.max_cache_seconds]
        if summary.expires_at is not None:
            candidates.append(summary.expires_at)
        return min(candidates)


def _addressed_to(audience: object, accepted: tuple[str, ...]) -> bool:
    """Whether an `aud` claim (a string or a list of them) names one of the `accepted` audiences."""
    values = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    return any(isinstance(value, str) and value in accepted for value in values)


def is_registered(requirement: str, summary: PassportSummary = EMPTY_PASSPORT) -> bool:
    """Whether verified visas meet `requirement` (see REGISTERED_REQUIREMENTS)."""
    if requirement == "authenticated":
        return True
    if requirement == "researcher_status":
        return RESEARCHER_STATUS in summary.statuses
    return {RESEARCHER_STATUS, ACCEPTED_TERMS_AND_POLICIES} <= summary.statuses
