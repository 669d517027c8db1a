"""Access tiers: bearer tokens to Principals (OIDC + GA4GH passports) and the per-dataset access policy.

Framework-independent: the API layer calls `TokenVerifier.identify(header)` and `AccessPolicy.ceiling(...)`.
"""

from beacon.auth.policy import AccessPolicy, PolicyError, SecurityLevel
from beacon.auth.principal import ANONYMOUS, Principal
from beacon.auth.tokens import AuthConfig, IgnoredTokenError, InvalidTokenError, TokenVerifier, Verdict

__all__ = [
    "ANONYMOUS",
    "AccessPolicy",
    "AuthConfig",
    "IgnoredTokenError",
    "InvalidTokenError",
    "PolicyError",
    "Principal",
    "SecurityLevel",
    "TokenVerifier",
    "Verdict",
]
