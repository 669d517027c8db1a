"""GA4GH Passport visas: verify each one, keep what it proves, drop it whole if anything is off."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry
from joserfc.jwt import JWTClaimsRegistry

from beacon.auth.compact import MalformedTokenError, SignatureError, peek, verify
from beacon.auth.fetch import Deadline, FetchError
from beacon.auth.jwks import RemoteKeys

log = logging.getLogger(__name__)

CONTROLLED_ACCESS_GRANTS = "ControlledAccessGrants"
RESEARCHER_STATUS = "ResearcherStatus"
ACCEPTED_TERMS_AND_POLICIES = "AcceptedTermsAndPolicies"

MAX_VISA_BYTES = 16_384
"""A visa is a small JWS; anything larger is refused unread."""

_VISA_TYPS = frozenset({"jwt", "vnd.ga4gh.visa+jwt"})


class VisaRejectedError(Exception):
    """One visa failed a check; it is dropped, the rest of the passport still counts."""


@dataclass(frozen=True)
class Visa:
    """The verified content of one visa (`ga4gh_visa_v1` plus its expiry)."""

    type: str
    value: str
    source: str
    by: str | None
    has_conditions: bool
    expires_at: float


@dataclass(frozen=True)
class PassportSummary:
    """What the verified visas of one passport establish."""

    statuses: frozenset[str]
    """`ResearcherStatus` / `AcceptedTermsAndPolicies` when an acceptable verified visa of that type exists."""
    grants: frozenset[str]
    """`value`s of acceptable verified `ControlledAccessGrants` visas."""
    expires_at: float | None
    """The earliest expiry among the visas that contributed, None when none did."""
    checked: int
    """How many visas were looked at (at most `max_visas`)."""


EMPTY_PASSPORT = PassportSummary(frozenset(), frozenset(), None, 0)


@dataclass(frozen=True)
class VisaRules:
    """Who may sign visas and how strictly they are read."""

    trusted_jkus: tuple[str, ...]
    visa_issuers: tuple[str, ...]
    algorithms: tuple[str, ...]
    leeway: int
    max_visas: int
    max_header_bytes: int


class PassportVerifier:
    """Verifies the visas of a `ga4gh_passport_v1` claim against trusted `jku`s and issuers."""

    def __init__(self, rules: VisaRules, keys: RemoteKeys, registry: JWSRegistry) -> None:
        self._rules = rules
        self._keys = keys
        self._registry = registry

    def summarise(self, passport: object, subject: str, deadline: Deadline) -> PassportSummary:
        """Verify up to `max_visas` visas of `passport` for `subject` and sum up what they prove."""
        if not isinstance(passport, list):
            return EMPTY_PASSPORT
        if len(passport) > self._rules.max_visas:
            log.warning("passport holds %d visas; only the first %d are checked", len(passport), self._rules.max_visas)
        visas: list[Visa] = []
        seen: set[str] = set()
        considered = passport[: self._rules.max_visas]
        for jws in considered:
            if not isinstance(jws, str) or jws in seen:
                continue
            seen.add(jws)
            try:
                visas.append(self.verify_visa(jws, subject, deadline))
            except VisaRejectedError as error:
                log.debug("visa dropped: %s", error)
        return _summarise(visas, len(considered))

    def verify_visa(self, jws: str, subject: str, deadline: Deadline) -> Visa:
        """Check one visa JWS (trusted jku before any fetch, signature, iss, sub, exp); raise VisaRejectedError."""
        if len(jws) > MAX_VISA_BYTES:
            raise VisaRejectedError(f"larger than {MAX_VISA_BYTES} bytes")
        try:
            header, _ = peek(jws, self._rules.max_header_bytes)
        except MalformedTokenError as error:
            raise VisaRejectedError(str(error)) from None
        alg, jku = header["alg"], header.get("jku")
        if alg not in self._rules.algorithms:
            raise VisaRejectedError(f"algorithm {alg!r} is not allowed")
        if str(header.get("typ", "JWT")).lower() not in _VISA_TYPS:
            raise VisaRejectedError("typ is not a visa type")
        # The jku allow-list is checked before anything is fetched: a visa chooses its jku itself.
        if not isinstance(jku, str) or jku not in self._rules.trusted_jkus:
            raise VisaRejectedError("jku is missing or not trusted")
        try:
            key = self._keys.signing_key(jku, header.get("kid"), alg, deadline)
            claims = verify(jws, key, self._registry)
        except (FetchError, SignatureError) as error:
            raise VisaRejectedError(str(error)) from None
        self._check_claims(claims, subject)
        return _read_visa(claims, self._rules.leeway)

    def _check_claims(self, claims: dict[str, Any], subject: str) -> None:
        registry = JWTClaimsRegistry(
            leeway=self._rules.leeway,
            iss={"essential": True, "values": list(self._rules.visa_issuers)},
            sub={"essential": True, "value": subject},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise VisaRejectedError(f"claims: {error}") from None


def _read_visa(claims: dict[str, Any], leeway: int) -> Visa:
    body = claims.get("ga4gh_visa_v1")
    if not isinstance(body, dict):
        raise VisaRejectedError("no ga4gh_visa_v1 object")
    kind, value, source, by = (body.get(name) for name in ("type", "value", "source", "by"))
    if not all(isinstance(text, str) and text for text in (kind, value, source)):
        raise VisaRejectedError("ga4gh_visa_v1 lacks type, value or source")
    asserted = body.get("asserted")
    if isinstance(asserted, bool) or not isinstance(asserted, int | float) or asserted > time.time() + leeway:
        raise VisaRejectedError("ga4gh_visa_v1 'asserted' is missing or in the future")
    if by is not None and not isinstance(by, str):
        raise VisaRejectedError("ga4gh_visa_v1 'by' is not a string")
    return Visa(kind, value, source, by or None, bool(body.get("conditions")), float(claims["exp"]))


def _summarise(visas: list[Visa], checked: int) -> PassportSummary:
    statuses: set[str] = set()
    grants: set[str] = set()
    used: list[Visa] = []
    for visa in visas:
        if not _is_acceptable(visa):
            continue
        used.append(visa)
        if visa.type == CONTROLLED_ACCESS_GRANTS:
            grants.add(visa.value)
        else:
            statuses.add(visa.type)
    expires_at = min((visa.expires_at for visa in used), default=None)
    return PassportSummary(frozenset(statuses), frozenset(grants), expires_at, checked)


def _is_acceptable(visa: Visa) -> bool:
    # We do not evaluate `conditions`, so a conditional visa must not be honoured at all.
    if visa.has_conditions:
        return False
    if visa.type == CONTROLLED_ACCESS_GRANTS:
        return visa.by is not None
    if visa.type == RESEARCHER_STATUS:
        return visa.by is not None and visa.by != "self"
    return visa.type == ACCEPTED_TERMS_AND_POLICIES
